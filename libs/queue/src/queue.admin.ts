import { Inject, Injectable } from '@nestjs/common';
import { QueueError, QueueErrorCode, redisCall, SCRIPT_CODE } from './errors/queue-error';
import { queueKeys, queueRegistryKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';

/** Operator actions on whole queues. */
@Injectable()
export class QueueAdmin {
  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  /**
   * Forgets an empty queue: its bookkeeping keys go and it leaves the registry, so it no longer
   * counts against MAX_QUEUES or shows in listings. WrongState while any task of it remains
   * (including retained results and dead tasks). A worker that serves it lists it again at its
   * next registration; a submit to it creates it again.
   */
  async forget(queue: string): Promise<void> {
    const keys = queueKeys(this.options.prefix, queue);
    const registry = queueRegistryKey(this.options.prefix);
    if (!(await redisCall('forgetQueue', () => this.redis.sismember(registry, queue)))) {
      throw new QueueError(QueueErrorCode.NotFound, 'forgetQueue', `queue ${queue} does not exist`);
    }
    const [code, left] = await redisCall('forgetQueue', () =>
      this.redis.taskqForgetQueue(
        keys.scheduled,
        keys.queued,
        keys.active,
        keys.retrying,
        keys.succeeded,
        keys.dead,
        keys.deadTrimmed,
        keys.seq,
        keys.wake,
        keys.recoverLock,
      ),
    );
    if (Number(code) === SCRIPT_CODE.WrongState) {
      throw new QueueError(
        QueueErrorCode.WrongState,
        'forgetQueue',
        `queue ${queue} still holds ${Number(left)} task(s); only an empty queue can be forgotten (purge its dead-letter queue, wait for the rest to finish or expire)`,
      );
    }
    await redisCall('forgetQueue', () => this.redis.srem(registry, queue));
  }
}
