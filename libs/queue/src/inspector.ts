import { Inject, Injectable } from '@nestjs/common';
import { QueueError, QueueErrorCode, redisCall } from './errors/queue-error';
import { queueKeys, queueOfTaskId, queueRegistryKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { DeadTaskPage, QueueStats, TaskRecord } from './task';
import { toTaskRecord } from './task-record';

/** Read-only views of the queue: tasks, per-queue counts, the dead-letter list. */
@Injectable()
export class QueueInspector {
  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  /** Throws NotFound for an unknown (or expired) id. */
  async getTask(id: string): Promise<TaskRecord> {
    const queue = queueOfTaskId(id);
    if (queue === undefined) throw notFound('getTask', id);
    const hash = await redisCall('getTask', () =>
      this.redis.hgetall(`${queueKeys(this.options.prefix, queue).taskPrefix}${id}`),
    );
    if (!hash.status) throw notFound('getTask', id);
    return toTaskRecord(id, queue, hash);
  }

  async listQueues(): Promise<string[]> {
    const queues = await redisCall('listQueues', () => this.redis.smembers(queueRegistryKey(this.options.prefix)));
    return queues.sort();
  }

  async stats(queue: string): Promise<QueueStats> {
    const keys = queueKeys(this.options.prefix, queue);
    const [reply, trimmed] = await redisCall('stats', () =>
      Promise.all([
        this.redis.taskqQueueStats(
          keys.scheduled,
          keys.queued,
          keys.active,
          keys.retrying,
          keys.succeeded,
          keys.dead,
          keys.cancelled,
          keys.meta,
          keys.taskPrefix,
        ),
        this.redis.get(keys.deadTrimmed),
      ]),
    );
    const [scheduled, queued, active, retrying, succeeded, dead, cancelled, oldestAge, paused, rateMax, ratePer, cap] =
      reply.map(Number);
    return {
      queue,
      counts: { scheduled, queued, active, retrying, succeeded, dead, cancelled },
      oldestQueuedAgeMs: oldestAge >= 0 ? oldestAge : null,
      deadTrimmed: Number(trimmed ?? 0),
      controls: {
        paused: paused === 1,
        rate: rateMax >= 0 && ratePer >= 0 ? { max: rateMax, perMs: ratePer } : null,
        concurrency: cap >= 0 ? cap : null,
      },
    };
  }

  async allStats(): Promise<QueueStats[]> {
    const queues = await this.listQueues();
    return Promise.all(queues.map((queue) => this.stats(queue)));
  }

  /** Dead tasks, newest first. The cursor is an offset into the dead set. */
  async listDead(queue: string, limit: number, cursor?: string): Promise<DeadTaskPage> {
    const keys = queueKeys(this.options.prefix, queue);
    const offset = cursor ? Number(cursor) : 0;
    const ids = await redisCall('listDead', () => this.redis.zrevrange(keys.dead, offset, offset + limit));
    const page = ids.slice(0, limit);
    const hashes = await redisCall('listDead', async () => {
      const pipeline = this.redis.pipeline();
      page.forEach((id) => pipeline.hgetall(`${keys.taskPrefix}${id}`));
      return (await pipeline.exec()) ?? [];
    });
    const tasks = page
      .map((id, i) => ({ id, hash: hashes[i]?.[1] as Record<string, string> | undefined }))
      .filter(({ hash }) => hash?.status)
      .map(({ id, hash }) => toTaskRecord(id, queue, hash!));
    return { tasks, nextCursor: ids.length > limit ? String(offset + limit) : null };
  }

  /** PING, for readiness. */
  async ping(): Promise<void> {
    await redisCall('ping', () => this.redis.ping());
  }
}

function notFound(op: string, id: string): QueueError {
  return new QueueError(QueueErrorCode.NotFound, op, `task ${id} does not exist (unknown id, or finished and expired)`);
}
