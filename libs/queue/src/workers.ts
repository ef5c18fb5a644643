import { Inject, Injectable } from '@nestjs/common';
import { redisCall } from './errors/queue-error';
import { workerRegistryKey } from './keys/queue-keys';
import { KEY_SCHEMA_VERSION } from './migration/schema-migration';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';

/** What a worker says about itself at each heartbeat. */
export interface WorkerReport {
  id: string;
  /**
   * `native`: a taskq worker process (absent in the reports of workers of an earlier version); `http`: a
   * worker of any language on the api's HTTP protocol, reported by the api at its claims and heartbeats.
   */
  kind?: 'native' | 'http';
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  inFlight: number;
  /**
   * inFlight per queue (queues without a run left out). Missing in the reports of workers of an
   * earlier version.
   */
  inFlightByQueue?: Record<string, number>;
  /**
   * The key schema the worker's scripts write (KEY_SCHEMA_VERSION). Missing in the reports of workers of
   * a release before schema 3: they cannot read what this release writes (earlierReleases).
   */
  schema?: number;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms of this report (the worker's clock). */
  lastSeen: number;
}

/**
 * The live workers, from their own heartbeats: each worker overwrites its entry every heartbeat and
 * removes it at shutdown; an entry not refreshed for `staleAfterMs` is a worker that died (listing
 * leaves it out, and drops it once it is long gone).
 */
@Injectable()
export class WorkerRegistry {
  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  async report(report: WorkerReport): Promise<void> {
    await redisCall('reportWorker', () =>
      this.redis.hset(workerRegistryKey(this.options.prefix), report.id, JSON.stringify(report)),
    );
  }

  async remove(id: string): Promise<void> {
    await redisCall('removeWorker', () => this.redis.hdel(workerRegistryKey(this.options.prefix), id));
  }

  /** Workers seen within `staleAfterMs`, by id; entries ten times older are deleted on the way. */
  async list(staleAfterMs: number): Promise<WorkerReport[]> {
    const key = workerRegistryKey(this.options.prefix);
    const all = await redisCall('listWorkers', () => this.redis.hgetall(key));
    const now = Date.now();
    const live: WorkerReport[] = [];
    const gone: string[] = [];
    for (const [id, json] of Object.entries(all)) {
      let report: WorkerReport | undefined;
      try {
        report = JSON.parse(json) as WorkerReport;
      } catch {
        report = undefined;
      }
      if (!report || now - report.lastSeen > 10 * staleAfterMs) gone.push(id);
      else if (now - report.lastSeen <= staleAfterMs) live.push(report);
    }
    if (gone.length) await redisCall('listWorkers', () => this.redis.hdel(key, ...gone));
    return live.sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Live workers of a release with an earlier key schema than this one's. Their claim scripts need the
   * fields this release no longer stores (an earlier claim pops a task, then fails on a missing
   * `attempts`, and the popped task is in no index), so a worker of this release starts nothing while
   * one of them runs (WorkerLifecycle).
   */
  async earlierReleases(staleAfterMs: number): Promise<WorkerReport[]> {
    return (await this.list(staleAfterMs)).filter((report) => (report.schema ?? 0) < KEY_SCHEMA_VERSION);
  }
}
