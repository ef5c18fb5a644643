import { Module } from '@nestjs/common';
import { TaskqClientModule, TaskqWorkerModule } from '@taskq/worker';
import { ShoutHandlers, shoutContract, shoutManyContract } from './shout';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;

@Module({
  imports: [
    TaskqWorkerModule.forRoot({
      // The taskq worker's settings, by their environment variable names (the taskq README: Configuration).
      settings: {
        REDIS_URL: env('REDIS_URL', 'redis://127.0.0.1:6379'),
        QUEUE_PREFIX: env('QUEUE_PREFIX', 'taskq'),
        WORKER_QUEUES: 'example',
        WORKER_CONCURRENCY: 8,
        LOG_LEVEL: 'info',
      },
      contracts: [shoutContract, shoutManyContract],
    }),
    // The same application submits too, through the taskq api.
    TaskqClientModule.forRoot({
      baseUrl: env('TASKQ_URL', 'http://127.0.0.1:8080'),
      apiKey: process.env.TASKQ_API_KEY,
    }),
  ],
  providers: [ShoutHandlers],
})
export class AppModule {}
