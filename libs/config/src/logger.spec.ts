import { loggerParams, logsDebug } from './logger';

describe('logsDebug (which LOG_LEVELs write debug lines)', () => {
  it('is true for debug and trace only', () => {
    expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].filter(logsDebug)).toEqual([
      'trace',
      'debug',
    ]);
  });

  it('is the rule the HTTP access logs follow', () => {
    for (const level of ['debug', 'info']) {
      const params = loggerParams(level, 'api');
      expect({
        level,
        accessLogs: params.pinoHttp && 'autoLogging' in params.pinoHttp && params.pinoHttp.autoLogging,
      }).toEqual({
        level,
        accessLogs: logsDebug(level),
      });
    }
  });
});
