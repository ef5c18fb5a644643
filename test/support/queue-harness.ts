import { Test, TestingModule } from '@nestjs/testing';
import {
  DeadLetterAdmin,
  NewTask,
  QueueAdmin,
  QueueConsumer,
  QueueInspector,
  QueueModule,
  QueueModuleOptions,
  QueueProducer,
  QueueRedis,
  REDIS_CLIENT,
} from '@app/queue';
import { testQueueOptions } from './queue-options';
import { deleteByPrefix, TestRedis, uniquePrefix } from './redis';

/** libs/queue booted as the apps boot it (QueueModule.forRoot), on a fresh prefix of the test Redis (in its TEST_REDIS_MODE). */
export class QueueHarness {
  readonly producer: QueueProducer;
  readonly consumer: QueueConsumer;
  readonly inspector: QueueInspector;
  readonly dlq: DeadLetterAdmin;
  readonly admin: QueueAdmin;
  /** The module's own command connection, with the scripts defined (for raw script calls). */
  readonly scripts: QueueRedis;

  private constructor(
    readonly moduleRef: TestingModule,
    readonly options: QueueModuleOptions,
  ) {
    this.producer = moduleRef.get(QueueProducer);
    this.consumer = moduleRef.get(QueueConsumer);
    this.inspector = moduleRef.get(QueueInspector);
    this.dlq = moduleRef.get(DeadLetterAdmin);
    this.admin = moduleRef.get(QueueAdmin);
    this.scripts = moduleRef.get<QueueRedis>(REDIS_CLIENT);
  }

  static async boot(overrides: Partial<QueueModuleOptions> = {}): Promise<QueueHarness> {
    const options = testQueueOptions(uniquePrefix('queue'), overrides);
    const moduleRef = await Test.createTestingModule({ imports: [QueueModule.forRoot(options)] }).compile();
    await moduleRef.init();
    return new QueueHarness(moduleRef, options);
  }

  get prefix(): string {
    return this.options.prefix;
  }

  /** Closes the module and deletes every key under its prefix. */
  async close(redis: TestRedis): Promise<void> {
    await this.moduleRef.close();
    await deleteByPrefix(redis, this.prefix);
  }
}

/** A task for `queue` with test defaults. */
export const newTask = (queue: string, over: Partial<NewTask> = {}): NewTask => ({
  type: 'echo',
  queue,
  payload: { n: 1 },
  priority: 0,
  maxRetries: 3,
  timeoutMs: 1000,
  ...over,
});
