import { Inject, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { QueueArchive } from './archive';
import { QueueConsumer } from './consumer';
import { DeadLetterAdmin } from './dead-letter.admin';
import { RedisHealthIndicator } from './health/redis.health';
import { QueueInspector } from './inspector';
import { QueueProducer } from './producer';
import { QueueAdmin } from './queue.admin';
import { QueueEvents } from './events/queue-events';
import { ScheduleStore } from './schedules/schedule-store';
import { TaskTypeStore } from './task-types/task-type-store';
import { SchemaMigration } from './migration/schema-migration';
import { QueueRegistry } from './queue-registry';
import { TaskWaiter } from './task-waiter';
import { WorkerRegistry } from './workers';
import { REDIS_CLIENT } from './queue.constants';
import { ConfigurableQueueModule } from './queue.module-definition';
import { RedisClient } from './redis/redis-client';
import { RemoteWork } from './remote-work/remote-work';
import { redisProviders } from './redis/redis.providers';
import { WakeListener } from './redis/wake-listener';

const BOOT_CONNECT_WAIT_MS = 5000;

/**
 * The Redis task queue: `QueueModule.forRoot({...})` / `forRootAsync({ useFactory, inject })`.
 * Exports the producer (submit), consumer (worker transitions), inspector (read-only views),
 * dead-letter and queue admin, the schedule store, and the Redis health indicator.
 */
@Module({
  imports: [TerminusModule],
  providers: [
    ...redisProviders,
    QueueProducer,
    QueueConsumer,
    QueueInspector,
    DeadLetterAdmin,
    QueueAdmin,
    QueueArchive,
    QueueEvents,
    TaskWaiter,
    WorkerRegistry,
    RemoteWork,
    ScheduleStore,
    TaskTypeStore,
    QueueRegistry,
    SchemaMigration,
    RedisHealthIndicator,
  ],
  // REDIS_CLIENT too, so `@InjectRedis()` works outside this module (e.g. the worker's fault-injection handler).
  exports: [
    REDIS_CLIENT,
    QueueProducer,
    QueueConsumer,
    QueueInspector,
    DeadLetterAdmin,
    QueueAdmin,
    QueueArchive,
    QueueEvents,
    TaskWaiter,
    WorkerRegistry,
    RemoteWork,
    ScheduleStore,
    TaskTypeStore,
    QueueRegistry,
    SchemaMigration,
    RedisHealthIndicator,
  ],
})
export class QueueModule extends ConfigurableQueueModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(QueueModule.name);

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly wake: WakeListener,
  ) {
    super();
  }

  /** Gives the first connection a moment, so the first requests do not fail while it opens. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.redis.status === 'ready') return;
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), BOOT_CONNECT_WAIT_MS);
      this.redis.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!ready) {
      this.logger.warn({
        msg: `Redis not reachable after ${BOOT_CONNECT_WAIT_MS} ms; starting anyway and retrying. Check REDIS_URL and that Redis is running.`,
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.wake.close();
    const client = this.redis;
    await (client.status === 'ready' ? client.quit().catch(() => client.disconnect()) : client.disconnect());
  }
}
