import { Inject, Injectable } from '@nestjs/common';
import { QueueError, QueueErrorCode, redisCall } from './errors/queue-error';
import { queueKeys, queueOfTaskId, queueRegistryKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { DeadTaskPage, QueueStats, TaskRecord } from './task';
import { toTaskRecord } from './task-record';

/**
 * A position in the dead-letter order of listDeadAcross: `<death time ms>:<task id>`, the last
 * task of the page before.
 */
export const DEAD_CURSOR_PATTERN = /^(\d{1,15}):([a-z0-9_-]{1,64}\.[0-9a-f-]{36})$/;

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

  /**
   * Dead tasks of `queues`, newest death first (equal death times: higher id first), `limit` a page.
   * The cursor is the position of the page's last task (DEAD_CURSOR_PATTERN), not an offset, so
   * tasks dying or leaving the DLQ meanwhile shift no page: each queue is read from the cursor
   * (ZREVRANGEBYSCORE, skipping ties at or before it), at most limit + 1, and the merge keeps `limit`.
   * A task deleted between the two reads is left out, so a page can be shorter than `limit`.
   */
  async listDeadAcross(queues: readonly string[], limit: number, cursor?: string): Promise<DeadTaskPage> {
    const match = cursor === undefined ? null : DEAD_CURSOR_PATTERN.exec(cursor);
    if (cursor !== undefined && !match) throw new Error(`not a dead-letter cursor: ${cursor}`);
    const after = match ? { score: Number(match[1]), id: match[2] } : undefined;
    const candidates = (await Promise.all(queues.map((queue) => this.deadAfter(queue, limit + 1, after)))).flat();
    candidates.sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const page = candidates.slice(0, limit);
    const last = page[page.length - 1];
    const byQueue = new Map<string, string[]>();
    for (const { queue, id } of page) byQueue.set(queue, [...(byQueue.get(queue) ?? []), id]);
    const hashes = new Map<string, Record<string, string>>();
    await Promise.all(
      [...byQueue].map(([queue, ids]) =>
        redisCall('listDead', async () => {
          const pipeline = this.redis.pipeline();
          ids.forEach((id) => pipeline.hgetall(`${queueKeys(this.options.prefix, queue).taskPrefix}${id}`));
          const replies = (await pipeline.exec()) ?? [];
          ids.forEach((id, i) => hashes.set(id, replies[i]?.[1] as Record<string, string>));
        }),
      ),
    );
    return {
      tasks: page
        .filter(({ id }) => hashes.get(id)?.status)
        .map(({ queue, id }) => toTaskRecord(id, queue, hashes.get(id)!)),
      nextCursor: candidates.length > limit ? `${last.score}:${last.id}` : null,
    };
  }

  /** Up to `count` dead tasks of one queue after `after` in the dead-letter order. */
  private async deadAfter(
    queue: string,
    count: number,
    after?: { score: number; id: string },
  ): Promise<{ queue: string; id: string; score: number }[]> {
    const key = queueKeys(this.options.prefix, queue).dead;
    const out: { queue: string; id: string; score: number }[] = [];
    // Ties at the cursor's score come first (reverse lexicographic order), the ones at or before the
    // cursor among them; read on past them when there are more than a batch.
    for (let offset = 0; ; offset += count) {
      const reply = await redisCall('listDead', () =>
        this.redis.zrevrangebyscore(key, after ? after.score : '+inf', '-inf', 'WITHSCORES', 'LIMIT', offset, count),
      );
      for (let i = 0; i < reply.length; i += 2) {
        const id = reply[i];
        const score = Number(reply[i + 1]);
        if (after && score === after.score && id >= after.id) continue;
        out.push({ queue, id, score });
        if (out.length === count) return out;
      }
      if (reply.length < count * 2) return out;
    }
  }

  /** PING, for readiness. */
  async ping(): Promise<void> {
    await redisCall('ping', () => this.redis.ping());
  }
}

function notFound(op: string, id: string): QueueError {
  return new QueueError(QueueErrorCode.NotFound, op, `task ${id} does not exist (unknown id, or finished and expired)`);
}
