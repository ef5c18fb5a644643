import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { exitCleanlyOnSignals, validateEnv } from '@app/config';
import { ApiModule } from './api.module';
import { ApiEnv } from './config/api.env';
import { HttpErrorFilter } from './filters/http-error.filter';
import { MetricsServerModule } from './metrics-server.module';
import { HttpMetricsHook } from './metrics/http-metrics.hook';
import { setUpOpenApi } from './openapi';
import { validationPipe } from './validation';

async function bootstrap(): Promise<void> {
  // Validated here too because the HTTP server's limits are needed before Nest starts.
  const env = validateEnv(ApiEnv)(process.env);

  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule,
    new FastifyAdapter({ bodyLimit: env.MAX_BODY_BYTES, trustProxy: true }),
    // Fastify's own JSON parser only (Nest would add urlencoded forms).
    { bufferLogs: true, bodyParser: false },
  );
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  const fastify = app.getHttpAdapter().getInstance();
  // JSON only: any other content type is answered 415 by Fastify instead of being parsed as text.
  fastify.removeContentTypeParser(['text/plain']);
  app.get(HttpMetricsHook).register(fastify);
  setUpOpenApi(app);
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
