import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { exitCleanlyOnSignals, validateEnv } from '@app/config';
import { ApiEnv } from './config/api.env';
import { createApiApp } from './configure-api';
import { MetricsServerModule } from './metrics-server.module';

async function bootstrap(): Promise<void> {
  // Validated here too because the HTTP server's limits are needed before Nest starts.
  const env = validateEnv(ApiEnv)(process.env);

  const app = await createApiApp(env, { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);
  exitCleanlyOnSignals(app, logger);

  const metrics = await NestFactory.create<NestFastifyApplication>(MetricsServerModule, new FastifyAdapter(), {
    logger,
  });
  await metrics.listen(env.METRICS_PORT, '0.0.0.0');
  await app.listen(env.PORT, '0.0.0.0');
  logger.log({ msg: `api listening on :${env.PORT} (docs at /docs), metrics on :${env.METRICS_PORT}/metrics` });

  // The metrics listener closes after the api, so the last scrape still sees the final counts.
  app.getHttpServer().on('close', () => void metrics.close());
}

bootstrap().catch((error: unknown) => {
  // Before the logger exists: a plain line an operator can read (bad config, port taken, ...).
  console.error(`api failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
