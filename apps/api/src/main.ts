import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { deprecationWarnings, exitCleanlyOnSignals, validateEnv } from '@app/config';
import { ApiEnv } from './config/api.env';
import { createApiApp } from './configure-api';
import { MetricsServerModule } from './metrics-server.module';

async function bootstrap(): Promise<void> {
  // Validated here too because the HTTP server's limits are needed before Nest starts. Renamed
  // variables still in use are warned about once the logger is up.
  const deprecations = deprecationWarnings(process.env);
  const env = validateEnv(ApiEnv)(process.env);
  if (process.argv[2] === 'keys') {
    // `node dist/apps/api/main.js keys ...` (npm run keys): API keys from a shell, no server.
    const { runKeysCli } = await import('./auth/keys-cli');
    process.exit(await runKeysCli(env, process.argv.slice(3)));
  }

  const app = await createApiApp(env, { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);
  for (const msg of deprecations) logger.warn({ msg });
  exitCleanlyOnSignals(app, logger);

  const metrics = await NestFactory.create<NestFastifyApplication>(MetricsServerModule, new FastifyAdapter(), {
    logger,
  });
  await metrics.listen(env.METRICS_PORT, '0.0.0.0');
  await app.listen(env.PORT, env.HOST);
  if (env.AUTH_MODE === 'none') {
    logger.warn({
      msg:
        `AUTH_MODE=none: NO AUTHENTICATION. Anyone who reaches ${env.HOST}:${env.PORT} may submit, read, cancel ` +
        'and purge tasks. For local use only; set AUTH_MODE=api-key (the default) anywhere else.',
    });
  }
  logger.log({
    msg: `api listening on ${env.HOST}:${env.PORT} (docs at /docs, auth ${env.AUTH_MODE}), metrics on :${env.METRICS_PORT}/metrics`,
  });

  // The metrics listener closes after the api, so the last scrape still sees the final counts.
  app.getHttpServer().on('close', () => void metrics.close());
}

bootstrap().catch((error: unknown) => {
  // Before the logger exists: a plain line an operator can read (bad config, port taken, ...).
  console.error(`api failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
