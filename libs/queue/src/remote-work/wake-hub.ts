import { Logger } from '@nestjs/common';
import { queueKeys } from '../keys/queue-keys';
import { QueueModuleOptions } from '../queue.options';
import { createRedisClient, RedisClient, watchConnection } from '../redis/redis-client';

/** How long one watcher's BLPOP blocks before it looks whether anyone still waits. */
const WATCH_CHUNK_SECONDS = 5;
/**
 * Most queues watched at once (one blocking connection each). A claim may name queues that do not exist;
 * past this many, a wait on an unwatched queue is only its time slice (the caller claims again after it).
 */
export const MAX_WATCHED_QUEUES = 256;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Watcher {
  /** Bumped on every marker the watcher pops: a waiter that saw an older value returns at once. */
  generation: number;
  waiters: Set<() => void>;
  done: Promise<void>;
}

/**
 * The api's side of "wait for work" for HTTP workers' long-polls: many requests wait at once, on
 * overlapping queues, where a native worker has one loop (WakeListener). One watcher per queue that
 * someone waits on blocks on the queue's wake list with a connection of its own (so it works on a
 * Cluster too) and wakes every waiter of the queue when a marker arrives; it stops once nobody has
 * waited on the queue for a whole chunk. So the blocking connections are bounded by the queues being
 * waited on, not by the requests.
 *
 * A marker popped while no request waited would be lost to a request that arrives just after; the
 * generation closes that gap (`mark()` before the claim, `wait()` returns at once if a marker came
 * since), and callers wait in bounded slices and claim again between them, as native workers do.
 */
export class WakeHub {
  private readonly logger = new Logger(WakeHub.name);
  private readonly watchers = new Map<string, Watcher>();
  private interrupted = false;
  private readonly clients = new Set<RedisClient>();

  constructor(
    private readonly options: QueueModuleOptions,
    private readonly maxWatched = MAX_WATCHED_QUEUES,
  ) {}

  /** Queues watched now (each with a blocking connection). */
  get watchedQueues(): number {
    return this.watchers.size;
  }

  /** The markers seen so far on each queue; pass it to `wait` after the claim that found nothing. */
  mark(queues: readonly string[]): number[] {
    return queues.map((queue) => this.watchers.get(queue)?.generation ?? 0);
  }

  /**
   * Resolves when a marker arrives on one of the queues after `mark`, when `timeoutMs` passes, when
   * `signal` aborts (the client went away), or at shutdown.
   */
  async wait(queues: readonly string[], mark: number[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.interrupted || signal?.aborted || timeoutMs <= 0) return;
    const watched = queues.flatMap((queue, i) => {
      const watcher = this.watcher(queue);
      return watcher ? [{ watcher, seen: mark[i] ?? 0 }] : [];
    });
    if (watched.some(({ watcher, seen }) => watcher.generation !== seen)) return;
    const watchers = watched.map(({ watcher }) => watcher);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        for (const watcher of watchers) watcher.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      for (const watcher of watchers) watcher.waiters.add(done);
    });
  }

  /** Shutdown, first step: every wait in progress returns now, and later ones at once. */
  interrupt(): void {
    this.interrupted = true;
    for (const watcher of this.watchers.values()) for (const wake of [...watcher.waiters]) wake();
    for (const client of this.clients) client.disconnect();
  }

  async close(): Promise<void> {
    this.interrupt();
    await Promise.all([...this.watchers.values()].map((watcher) => watcher.done));
  }

  private watcher(queue: string): Watcher | undefined {
    const existing = this.watchers.get(queue);
    if (existing) return existing;
    if (this.watchers.size >= this.maxWatched) return undefined;
    const watcher: Watcher = { generation: 0, waiters: new Set(), done: Promise.resolve() };
    watcher.done = this.watch(queue, watcher);
    this.watchers.set(queue, watcher);
    return watcher;
  }

  private async watch(queue: string, watcher: Watcher): Promise<void> {
    // Let the caller register its waiter before the first idle check.
    await Promise.resolve();
    const client = watchConnection(createRedisClient(this.options, 'blocking'), `long-poll ${queue}`);
    this.clients.add(client);
    const key = queueKeys(this.options.prefix, queue).wake;
    let failures = 0;
    let idleChunks = 0;
    try {
      while (!this.interrupted && idleChunks < 2) {
        idleChunks = watcher.waiters.size === 0 ? idleChunks + 1 : 0;
        try {
          if (await client.blpop(key, WATCH_CHUNK_SECONDS)) {
            watcher.generation++;
            for (const wake of [...watcher.waiters]) wake();
          }
          failures = 0;
        } catch (error) {
          if (this.interrupted) break;
          if (++failures === 1)
            this.logger.warn({ msg: `long-poll watcher for ${queue}: ${(error as Error).message}` });
          await sleep(Math.min(100 * 2 ** Math.min(failures, 4), 1000));
        }
      }
    } finally {
      // A waiter that came in after the last check is woken, so it claims again (and starts a new watcher).
      if (this.watchers.get(queue) === watcher) this.watchers.delete(queue);
      for (const wake of [...watcher.waiters]) wake();
      this.clients.delete(client);
      client.disconnect();
    }
  }
}
