import { NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiModule } from './api.module';
import { ApiEnv } from './config/api.env';
import { HttpErrorFilter } from './filters/http-error.filter';
import { HttpMetricsHook } from './metrics/http-metrics.hook';
import { setUpOpenApi } from './openapi';
import { scheduleBodyChecks } from './schedules/schedule-body.checks';
import { submitBodyChecks } from './submit/submit-body.checks';
import { ApiValidationPipe } from './validation/api-validation.pipe';
import { installJsonBodyParser } from './validation/json-body.parser';

/**
 * The api's HTTP app as it runs: Fastify with the body limit, our JSON body parser (the only one),
 * validation, error mapping, metrics and OpenAPI. main.ts uses it, and so do in-process tests, so
 * they exercise the same wiring.
 */
export async function createApiApp(env: ApiEnv, options: NestApplicationOptions = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule,
    new FastifyAdapter({ bodyLimit: env.MAX_BODY_BYTES, trustProxy: true }),
    // Nest's own body parsers off (it would add urlencoded forms): installJsonBodyParser below.
    { ...options, bodyParser: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  installJsonBodyParser(fastify);
  app.useGlobalFilters(new HttpErrorFilter({ maxBodyBytes: env.MAX_BODY_BYTES }));
  app.get(HttpMetricsHook).register(fastify);
  const limits = { maxBatchSize: env.MAX_BATCH_SIZE };
  // The submit and schedule bodies' fast checks are compiled from the document served at /docs-json.
  const document = setUpOpenApi(app, limits);
  app.useGlobalPipes(
    new ApiValidationPipe(new Map([...submitBodyChecks(document, limits), ...scheduleBodyChecks(document)])),
  );
  return app;
}
