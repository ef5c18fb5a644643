import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { deprecationWarnings, exitCleanlyOnSignals, metricsHost, validateEnv } from '@app/config';
import { WorkerEnv } from '@app/worker';
import { WorkerModule } from './worker.module';

async function bootstrap(): Promise<void> {
  // Renamed variables still in use, warned about once the logger is up.
  const deprecations = deprecationWarnings(process.env);
  const env = validateEnv(WorkerEnv)(process.env);
  // The worker's only HTTP listener: /metrics and /health/{live,ready} on METRICS_PORT.
  const app = await NestFactory.create<NestFastifyApplication>(
    WorkerModule.register({ demoTasks: env.DEMO_TASKS, faultTasks: env.FAULT_TASKS }),
    new FastifyAdapter(),
    { bufferLogs: true },
  );
  const logger = app.get(Logger);
  app.useLogger(logger);
  for (const msg of deprecations) logger.warn({ msg });

  // A handler's stray promise or callback must not take the worker (and its other tasks) down.
  process.on('unhandledRejection', (reason) =>
    logger.error({ msg: 'unhandled rejection (a handler left a promise unawaited?)', reason: String(reason) }),
  );
  process.on('uncaughtException', (error) =>
    logger.error({ msg: 'uncaught exception (a handler threw from a callback?)', err: error }),
  );

  exitCleanlyOnSignals(app, logger);

  // Unauthenticated (queue names, task types, schedule names): METRICS_HOST, else HOST.
  await app.listen(env.METRICS_PORT, metricsHost(env));
  logger.log({ msg: `worker metrics and health on ${metricsHost(env)}:${env.METRICS_PORT}` });
}

bootstrap().catch((error: unknown) => {
  console.error(`worker failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
