import type { Params } from 'nestjs-pino';

/** Structured JSON logs (pino); `LOG_LEVEL` sets the level, HTTP access logs only at debug. */
export function loggerParams(level: string, app: 'api' | 'worker'): Params {
  return {
    pinoHttp: {
      level,
      base: { app },
      messageKey: 'msg',
      autoLogging: level === 'debug' || level === 'trace',
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      },
    },
  };
}
