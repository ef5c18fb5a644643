import { RedisOptions } from 'ioredis';
import type { RedisConnection } from '@app/queue';
import {
  checkPrefixInvariant,
  checkQueueInvariant,
  DEFAULT_RESULT_TTL_SECONDS,
  PrefixInvariantOptions,
} from './invariants';
import { AppProcess } from './processes';
import { asConnection, createTestRedis, deleteByPrefix, redisAppEnv, scanKeys, TestRedis, uniquePrefix } from './redis';

export interface AppStackOptions {
  /** Label in the key prefix, e.g. `e2e` → `taskq-test:e2e:<random>`. */
  label: string;
  /** Env for every app of the stack (after the defaults). */
  env?: Record<string, string>;
  /** Options of the stack's own Redis client (used for checks). */
  redisOptions?: RedisOptions;
  /** Delete every key under the prefix when the stack stops. */
  deleteKeysOnStop?: boolean;
}

/**
 * One api and any number of workers (the built apps, as real processes) on a fresh key prefix, on a
 * Redis given as a URL (one node) or a connection (a cluster, a Sentinel group): the apps get the
 * matching REDIS_* variables and the stack's own client is of the same kind.
 */
export class AppStack {
  readonly prefix: string;
  readonly redis: TestRedis;
  readonly connection: RedisConnection;
  api!: AppProcess;
  readonly workers: AppProcess[] = [];

  constructor(
    target: RedisConnection | string,
    private readonly options: AppStackOptions,
  ) {
    this.connection = asConnection(target);
    this.prefix = uniquePrefix(options.label);
    this.redis = createTestRedis(this.connection, options.redisOptions ?? {});
  }

  /**
   * Every app's env. The api runs without authentication on loopback and without a rate limit,
   * so suites about other things are not about keys; suites about access control (auth.e2e-spec)
   * pass AUTH_MODE, keys and limits of their own in `env`.
   */
  get baseEnv(): Record<string, string> {
    return {
      ...redisAppEnv(this.connection),
      QUEUE_PREFIX: this.prefix,
      AUTH_MODE: 'none',
      HOST: '127.0.0.1',
      RATE_LIMIT_MAX: '0',
      RETRY_BACKOFF_BASE_MS: '20',
      RETRY_BACKOFF_MAX_MS: '100',
      ...this.options.env,
    };
  }

  async startApi(env: Record<string, string> = {}): Promise<AppProcess> {
    this.api = await AppProcess.start('api', { ...this.baseEnv, ...env });
    return this.api;
  }

  async startWorker(env: Record<string, string> = {}): Promise<AppProcess> {
    const worker = await AppProcess.start('worker', { ...this.baseEnv, ...env });
    this.workers.push(worker);
    return worker;
  }

  /** Every key under this stack's prefix (SCAN on every master). */
  async keyCount(): Promise<number> {
    return (await scanKeys(this.redis, `${this.prefix}:*`)).length;
  }

  /** RESULT_TTL_SECONDS the stack's apps run with: what the invariant expects of the succeeded index. */
  get resultTtlSeconds(): number {
    const configured = this.baseEnv.RESULT_TTL_SECONDS;
    return configured === undefined ? DEFAULT_RESULT_TTL_SECONDS : Number(configured);
  }

  /** RESULTS_BACKEND the stack's apps run with: whether the archive index is a home (see checkQueueInvariant). */
  get resultsBackend(): 'redis' | 'postgres' {
    return this.baseEnv.RESULTS_BACKEND === 'postgres' ? 'postgres' : 'redis';
  }

  async invariant(queue = 'default'): Promise<string[]> {
    return checkQueueInvariant(this.redis, this.prefix, queue, {
      resultTtlSeconds: this.resultTtlSeconds,
      resultsBackend: this.resultsBackend,
    });
  }

  /** The invariant over every queue under the stack's prefix (and, with requireFinished, nothing unfinished). */
  async invariantAll(
    options: Omit<PrefixInvariantOptions, 'resultTtlSeconds' | 'resultsBackend'> = {},
  ): Promise<string[]> {
    return checkPrefixInvariant(this.redis, this.prefix, {
      ...options,
      resultTtlSeconds: this.resultTtlSeconds,
      resultsBackend: this.resultsBackend,
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.workers, this.api].filter(Boolean).map((app) => app.stop('SIGKILL').catch(() => undefined)),
    );
    if (this.options.deleteKeysOnStop) await deleteByPrefix(this.redis, this.prefix).catch(() => undefined);
    this.redis.disconnect();
  }
}
