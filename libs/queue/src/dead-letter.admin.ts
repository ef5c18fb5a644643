import { Inject, Injectable } from '@nestjs/common';
import { errorForScriptCode, redisCall, refusedInState, SCRIPT_CODE } from './errors/queue-error';
import { queueKeys, queueOfTaskId } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { runAgain } from './retry-task';
import { QueueRedis } from './scripts/script-loader';
import { purgeDead } from './scripts/queue-scripts';
import { deleteDead } from './scripts/task-scripts';

const PURGE_BATCH = 1000;

/** Operator actions on the dead-letter queue. */
@Injectable()
export class DeadLetterAdmin {
  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  /**
   * Dead → queued, attempts reset; a unique task takes its uniqueness lock again. NotFound; WrongState
   * ("task X is succeeded, not dead", or deleted from the dead-letter queue); Conflict naming the
   * unfinished task that holds its lock now.
   */
  async requeue(id: string): Promise<void> {
    await runAgain(this.redis, this.options, 'requeueDead', id, 'dead');
  }

  /** Deletes a dead task. NotFound / WrongState ("task X is queued, not dead", or deleted already). */
  async delete(id: string): Promise<void> {
    const keys = this.keysOf('deleteDead', id);
    const {
      code,
      details: [status, deleted],
    } = await redisCall('deleteDead', () => deleteDead.run(this.redis, keys, { taskPrefix: keys.taskPrefix, id }));
    if (code === SCRIPT_CODE.WrongState) throw refusedInState('deleteDead', id, status!, deleted === 'deleted');
    const error = errorForScriptCode(code, 'deleteDead', id);
    if (error) throw error;
  }

  /** Deletes every dead task of the queue in bounded batches; returns how many. */
  async purge(queue: string): Promise<number> {
    const keys = queueKeys(this.options.prefix, queue);
    let total = 0;
    for (;;) {
      const deleted = await redisCall('purgeDead', () =>
        purgeDead.run(this.redis, keys, { taskPrefix: keys.taskPrefix, limit: PURGE_BATCH }),
      );
      total += deleted;
      if (deleted < PURGE_BATCH) return total;
    }
  }

  private keysOf(op: string, id: string) {
    const queue = queueOfTaskId(id);
    if (queue === undefined) throw errorForScriptCode(SCRIPT_CODE.NotFound, op, id)!;
    return queueKeys(this.options.prefix, queue);
  }
}
