import { Inject, Injectable } from '@nestjs/common';
import { QueueError, QueueErrorCode, redisCall, SCRIPT_CODE } from './errors/queue-error';
import { queueKeys, queueRegistryKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { registerQueues } from './scripts/queue-scripts';

/** Calls a write makes when it finds its queue unregistered (each registers it again first). */
export const REGISTER_ATTEMPTS = 5;

/**
 * The queue registry (one SET, the list `GET /queues` and the metrics show, outside every queue's
 * slot) and each queue's registration mark (its `seq` key, inside the queue's slot), kept in step so
 * that no task, schedule or control lands in a queue the registry does not list, on a Redis Cluster
 * too, where no script can touch both.
 *
 * Registering: add the name (within MAX_QUEUES), set the mark, add the name again. Forgetting (see
 * QueueAdmin.forget): remove the name, then one script in the queue's slot deletes the mark with the
 * queue's keys if the queue is empty, and the name goes back if it is not. Writes that add to a queue
 * (enqueueTasks, activateSchedule, setQueueControls) refuse a queue without its mark, and the caller
 * registers again and retries. Whatever the interleaving, a write that lands either landed before the
 * forget's check (which then finds the queue not empty and puts the name back) or found a mark set
 * by a registration whose last step put the name back after the forget removed it.
 */
@Injectable()
export class QueueRegistry {
  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  /** Registers and marks queues; a queue new to the registry counts against MAX_QUEUES (LimitReached, nothing added). */
  async register(queues: string[]): Promise<void> {
    const [code, count] = await redisCall('register', () =>
      registerQueues.run(this.redis, { registry: this.key }, { maxQueues: this.options.maxQueues, queues }),
    );
    if (code === SCRIPT_CODE.LimitReached) {
      throw new QueueError(
        QueueErrorCode.LimitReached,
        'register',
        `queue ${queues.join(', ')} would be queue number ${Number(count) + 1}; at most ${this.options.maxQueues} queues may exist (MAX_QUEUES). Use an existing queue, forget unused empty ones (DELETE /queues/{name}), or raise MAX_QUEUES.`,
      );
    }
    await this.mark(queues);
  }

  /** Marks a queue that is registered already (a worker's queue, or one of an earlier version); NotFound when it is not. */
  async registerExisting(queue: string, op: string): Promise<void> {
    if (!(await this.exists(queue))) {
      throw new QueueError(QueueErrorCode.NotFound, op, `queue ${queue} does not exist`);
    }
    await this.mark([queue]);
  }

  /** Every registered queue, by name. */
  async list(): Promise<string[]> {
    return (await redisCall('listQueues', () => this.redis.smembers(this.key))).sort();
  }

  async exists(queue: string): Promise<boolean> {
    return (await redisCall('queueExists', () => this.redis.sismember(this.key, queue))) === 1;
  }

  /** Takes the name out of the registry: the first step of forgetting a queue. */
  async remove(queue: string): Promise<void> {
    await redisCall('forgetQueue', () => this.redis.srem(this.key, queue));
  }

  /** Puts a name back (a forget that found the queue not empty); not held to MAX_QUEUES: it was counted. */
  async restore(queue: string): Promise<void> {
    await redisCall('forgetQueue', () =>
      registerQueues.run(this.redis, { registry: this.key }, { maxQueues: 0, queues: [queue] }),
    );
  }

  /**
   * Sets the marks, then adds the names again: a forget that removed a name between the first add and
   * the mark may have found the queue empty and deleted the mark before it was set; the name must not
   * stay out while the mark is back.
   */
  private async mark(queues: string[]): Promise<void> {
    await redisCall('register', () =>
      Promise.all(queues.map((queue) => this.redis.set(queueKeys(this.options.prefix, queue).seq, '0', 'NX'))),
    );
    await redisCall('register', () => registerQueues.run(this.redis, { registry: this.key }, { maxQueues: 0, queues }));
  }

  private get key(): string {
    return queueRegistryKey(this.options.prefix);
  }
}
