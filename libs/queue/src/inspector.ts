import { Inject, Injectable } from '@nestjs/common';
import { QueueError, QueueErrorCode, redisCall } from './errors/queue-error';
import { queueKeys, queueOfTaskId, queueRegistryKey, writeProbeKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { queueStats } from './scripts/queue-scripts';
import { DeadTaskPage, QueueMinute, QueueStats, TaskRecord, TaskSummary } from './task';
import { ListPage, ListQuery, listTasks, TASK_CURSOR_PATTERN } from './task-listing';
import { toTaskRecord } from './task-record';

/** QUEUE_UNSERVED_AFTER_MS's default (15 minutes). */
export const DEFAULT_UNSERVED_AFTER_MS = 900_000;

/** A position in the dead-letter order of listDeadAcross (a listing cursor: `<death time ms>:<task id>`). */
export const DEAD_CURSOR_PATTERN = TASK_CURSOR_PATTERN;

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

  async queueExists(queue: string): Promise<boolean> {
    return (
      (await redisCall('queueExists', () => this.redis.sismember(queueRegistryKey(this.options.prefix), queue))) === 1
    );
  }

  async listQueues(): Promise<string[]> {
    const queues = await redisCall('listQueues', () => this.redis.smembers(queueRegistryKey(this.options.prefix)));
    return queues.sort();
  }

  async stats(queue: string): Promise<QueueStats> {
    const keys = queueKeys(this.options.prefix, queue);
    const [stats, trimmed] = await redisCall('stats', () =>
      Promise.all([
        queueStats.run(this.redis, keys, { taskPrefix: keys.taskPrefix }),
        this.redis.get(keys.deadTrimmed),
      ]),
    );
    const { counts, oldestQueuedAgeMs: oldestAge, servedAgoMs: servedAgo, purged, paused } = stats;
    const { rateMax, ratePerMs: ratePer, concurrency: cap } = stats;
    const unservedAfterMs = this.options.unservedAfterMs ?? DEFAULT_UNSERVED_AFTER_MS;
    return {
      queue,
      counts,
      oldestQueuedAgeMs: oldestAge >= 0 ? oldestAge : null,
      lastServedAgoMs: servedAgo >= 0 ? servedAgo : null,
      // Tasks have waited longer than the threshold, and no worker served the queue within it.
      unserved: counts.queued > 0 && oldestAge > unservedAfterMs && (servedAgo < 0 || servedAgo > unservedAfterMs),
      deadTrimmed: Number(trimmed ?? 0),
      purged,
      controls: {
        paused,
        rate: rateMax >= 0 && ratePer >= 0 ? { max: rateMax, perMs: ratePer } : null,
        concurrency: cap >= 0 ? cap : null,
      },
    };
  }

  async allStats(): Promise<QueueStats[]> {
    const queues = await this.listQueues();
    return Promise.all(queues.map((queue) => this.stats(queue)));
  }

  /**
   * Tasks in one state across `queues` (summaries: no payload, result or error), in the state's
   * order: the newest first for succeeded, dead and cancelled, the run (or due) order otherwise.
   * `cursor` is a position (TASK_CURSOR_PATTERN); a `taskType` filter examines at most
   * MAX_SCANNED_PER_PAGE tasks per page and then returns a cursor to go on from.
   */
  listTasks(query: Omit<ListQuery<false>, 'full'>): Promise<ListPage<TaskSummary>> {
    return listTasks(this.redis, this.options.prefix, { ...query, full: false });
  }

  /**
   * Dead tasks of `queues` as summaries with their last error (why they died), newest death first,
   * by position cursor. No payloads or results: a page of large payloads would cost the api (and the
   * answer) hundreds of megabytes; getTask has them, one task at a time.
   */
  async listDeadAcross(queues: readonly string[], limit: number, cursor?: string): Promise<DeadTaskPage> {
    const page = await listTasks(this.redis, this.options.prefix, {
      queues,
      status: 'dead',
      limit,
      cursor,
      full: false,
      withLastError: true,
    });
    return page as DeadTaskPage;
  }

  /**
   * Per-minute outcome counts of a queue over the last `minutes` (at most two hours), oldest first;
   * minutes without an outcome are zeros.
   */
  async history(queue: string, minutes: number): Promise<QueueMinute[]> {
    const fields = await redisCall('history', () =>
      this.redis.hgetall(queueKeys(this.options.prefix, queue).throughput),
    );
    const thisMinute = Math.floor(Date.now() / 60_000);
    return Array.from({ length: minutes }, (_, i) => {
      const minute = thisMinute - minutes + 1 + i;
      const count = (kind: string) => Number(fields[`${kind}:${minute}`] ?? 0);
      return {
        minute: minute * 60_000,
        succeeded: count('s'),
        dead: count('d'),
        retried: count('r'),
        cancelled: count('c'),
      };
    });
  }

  /** PING, for readiness. */
  async ping(): Promise<void> {
    await redisCall('ping', () => this.redis.ping());
  }

  /**
   * Whether Redis takes writes, for readiness: a write that changes nothing (SET of a key that never
   * exists, only if it exists), which Redis still refuses when out of memory or read-only.
   */
  async checkWritable(): Promise<void> {
    await redisCall('writeProbe', () => this.redis.set(writeProbeKey(this.options.prefix), '1', 'XX'));
  }
}

function notFound(op: string, id: string): QueueError {
  return new QueueError(QueueErrorCode.NotFound, op, `task ${id} does not exist (unknown id, or finished and expired)`);
}
