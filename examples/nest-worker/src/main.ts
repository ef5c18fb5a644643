import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  // No HTTP server of its own: the worker claims from Redis. (NestFactory.create would also serve /health and /metrics.)
  const app = await NestFactory.createApplicationContext(AppModule);
  // SIGTERM: stop claiming, let runs finish (SHUTDOWN_GRACE_MS), hand the rest back to their queues.
  app.enableShutdownHooks();
  await app.init();
  console.log(JSON.stringify({ msg: 'example worker started', queues: ['example'] }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
