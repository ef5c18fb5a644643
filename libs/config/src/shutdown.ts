import type { INestApplicationContext, LoggerService } from '@nestjs/common';

/**
 * SIGTERM/SIGINT → app.close() (every shutdown hook, in order) → exit 0; exit 1 if closing fails.
 * Used instead of enableShutdownHooks(), which re-raises the signal and so never exits 0.
 */
export function exitCleanlyOnSignals(app: INestApplicationContext, logger: LoggerService): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log({ msg: `${signal} received; shutting down` });
    app
      .close()
      .then(() => process.exit(0))
      .catch((error: Error) => {
        logger.error({ msg: `shutdown failed: ${error.message}` });
        process.exit(1);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
