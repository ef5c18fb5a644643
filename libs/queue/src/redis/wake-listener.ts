import { Logger } from '@nestjs/common';
import { redisCall } from '../errors/queue-error';
import { queueKeys } from '../keys/queue-keys';
import { QueueModuleOptions } from '../queue.options';
import { createRedisClient, RedisClient, watchConnection } from './redis-client';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long one watcher's BLPOP blocks before it loops (it loops until closed). */
const WATCH_CHUNK_SECONDS = 5;

/**
 * How an idle worker waits for "new work in one of my queues" without polling: enqueue and retry
 * scripts push a marker on the queue's wake list, and the worker blocks on those lists.
 *
 * On one node (or a Sentinel master) one blocking connection waits on every queue's list at once
 * (a multi-key BLPOP). A Redis Cluster refuses a BLPOP across slots, and a blocked connection holds
 * up everything queued behind it on that node, so there each queue gets a watcher of its own (its
 * own connection, blocking in a loop); a marker any watcher pops wakes the worker, and is remembered
 * if the worker was busy, so a worker serving queues on different masters wakes as fast as on one.
 */
export class WakeListener {
  private readonly logger = new Logger(WakeListener.name);
  private interrupted = false;
  private single?: RedisClient;
  private readonly watchers = new Map<string, { client: RedisClient; done: Promise<void> }>();
  /** Queues whose marker a watcher popped since the last wait returned. */
  private readonly pending = new Set<string>();
  private wakeUp?: () => void;

  constructor(private readonly options: QueueModuleOptions) {}

  /** Blocks until one of `queues` signals work, `timeoutMs` passes, or `interrupt()` is called. */
  async wait(queues: string[], timeoutMs: number): Promise<void> {
    if (this.interrupted) return;
    if (this.options.redis.mode === 'cluster') return this.waitOnWatchers(queues, timeoutMs);
    this.single ??= watchConnection(createRedisClient(this.options, 'blocking'), 'blocking');
    const client = this.single;
    if (client.status === 'wait') await client.connect().catch(() => undefined);
    const keys = queues.map((queue) => queueKeys(this.options.prefix, queue).wake);
    try {
      // BLPOP takes seconds (fractions allowed since Redis 6).
      await redisCall('waitForWork', () => client.blpop(...keys, Math.max(0.01, timeoutMs / 1000)));
    } catch (error) {
      if (!this.interrupted) throw error;
    }
  }

  /**
   * Shutdown: ends a wait in progress at once (closing its connection is the only way to cut a
   * BLPOP short), now and for every later call.
   */
  interrupt(): void {
    this.interrupted = true;
    this.wakeUp?.();
    this.single?.disconnect();
    for (const { client } of this.watchers.values()) client.disconnect();
  }

  async close(): Promise<void> {
    this.interrupt();
    await Promise.all([...this.watchers.values()].map((watcher) => watcher.done));
  }

  private async waitOnWatchers(queues: string[], timeoutMs: number): Promise<void> {
    for (const queue of queues) if (!this.watchers.has(queue)) this.startWatcher(queue);
    if (queues.some((queue) => this.pending.has(queue))) {
      queues.forEach((queue) => this.pending.delete(queue));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wakeUp = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.wakeUp = undefined;
    queues.forEach((queue) => this.pending.delete(queue));
  }

  private startWatcher(queue: string): void {
    const client = watchConnection(createRedisClient(this.options, 'blocking'), `blocking ${queue}`);
    const key = queueKeys(this.options.prefix, queue).wake;
    const done = (async () => {
      let failures = 0;
      while (!this.interrupted) {
        try {
          if (await client.blpop(key, WATCH_CHUNK_SECONDS)) {
            this.pending.add(queue);
            this.wakeUp?.();
          }
          failures = 0;
        } catch (error) {
          if (this.interrupted) break;
          if (++failures === 1) this.logger.warn({ msg: `wake watcher for ${queue}: ${(error as Error).message}` });
          await sleep(Math.min(100 * 2 ** Math.min(failures, 4), 1000));
        }
      }
    })();
    this.watchers.set(queue, { client, done });
  }
}
