import type { Params } from 'nestjs-pino';

/**
 * Structured JSON logs (pino); `LOG_LEVEL` sets the level. HTTP access logs (the pino-http middleware,
 * which costs every request a child logger and a middleware pass) only at debug and trace.
 */
export function loggerParams(level: string, app: 'api' | 'worker') {
  const accessLogs = logsDebug(level);
  // Checked against nestjs-pino's Params, but not declared as it: the worker package's types need no nestjs-pino.
  return {
    ...(accessLogs ? {} : { forRoutes: [] }),
    pinoHttp: {
      level,
      base: { app },
      messageKey: 'msg',
      autoLogging: accessLogs,
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      },
    },
  } satisfies Params;
}

/**
 * Whether `level` (LOG_LEVEL) writes debug lines. Code on a per-request or per-task path asks this
 * before building a debug line: Nest's logger formats a line before pino drops it.
 */
export function logsDebug(level: string): boolean {
  return level === 'debug' || level === 'trace';
}
