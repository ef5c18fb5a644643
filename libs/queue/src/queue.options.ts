/** A Redis node address. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * Where Redis is: one node (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES), or a master found
 * through Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME). Credentials and TLS for the last two are
 * separate settings; a URL carries its own.
 */
export type RedisConnection =
  | {
      mode: 'standalone';
      url: string;
      /** ACL user and password when the URL carries none (REDIS_USERNAME, REDIS_PASSWORD). */
      username?: string;
      password?: string;
    }
  | {
      mode: 'cluster';
      /** Seed nodes; the client discovers the rest. */
      nodes: RedisNode[];
      /** Announced address → reachable address (clusters behind NAT, e.g. in Docker or Kubernetes). */
      natMap?: Record<string, RedisNode>;
      username?: string;
      password?: string;
      tls?: boolean;
    }
  | {
      mode: 'sentinel';
      sentinels: RedisNode[];
      /** The master group name the sentinels monitor. */
      name: string;
      username?: string;
      password?: string;
      sentinelPassword?: string;
      tls?: boolean;
    };

/** What the queue library needs; the apps build it from their validated config. */
export interface QueueModuleOptions {
  redis: RedisConnection;
  /** Key prefix, so deployments can share one Redis (QUEUE_PREFIX). */
  prefix: string;
  /** Lease (visibility timeout) of a claimed task in ms (TASK_LEASE_MS). */
  leaseMs: number;
  /** How long finished tasks are kept, in seconds; 0 deletes them at once (RESULT_TTL_SECONDS). */
  resultTtlSeconds: number;
  /**
   * Where finished tasks go (RESULTS_BACKEND). `redis` (default): the hash stays with a TTL of
   * resultTtlSeconds. `postgres`: the finishing scripts put the id in the queue's archive index
   * instead, and a worker's archiver writes it to PostgreSQL, then drops it from Redis.
   */
  resultsBackend?: 'redis' | 'postgres';
  /**
   * With `postgres`: the most finished tasks a queue may hold waiting for PostgreSQL (its archive
   * index); a claim takes no more than leaves the backlog under it (RESULTS_BUFFER_MAX, workers only).
   */
  resultsBufferMax?: number;
  /** Lease expiries a task may cause before it is dead-lettered (MAX_RECOVERIES). */
  maxRecoveries: number;
  /** Most queues that may exist; a submit that would create one more is refused. 0 = no cap (MAX_QUEUES). */
  maxQueues: number;
  /** Most schedules one queue may hold; creating one more is refused. 0 or unset = no cap (MAX_SCHEDULES). */
  maxSchedules?: number;
  /** Cap on dead tasks per queue; 0 = unlimited (DLQ_MAX_SIZE). */
  dlqMaxSize: number;
  /** A command that gets no reply in this time fails (so the API answers 503 quickly). */
  commandTimeoutMs: number;
  /**
   * Replicas an enqueue waits for (WAIT) before it counts as accepted; 0 = do not wait
   * (REDIS_WAIT_REPLICAS). Replication is asynchronous: without it, a failover can lose the last
   * writes a master acknowledged.
   */
  waitReplicas?: number;
  /** The longest an enqueue waits for those replicas (REDIS_WAIT_TIMEOUT_MS). */
  waitTimeoutMs?: number;
  /** How long an idempotency key is remembered (IDEMPOTENCY_TTL_SECONDS, default 86400). */
  idempotencyTtlSeconds?: number;
  /**
   * A queue whose queued tasks waited this long while no worker served it is `unserved` in its stats
   * (QUEUE_UNSERVED_AFTER_MS; default 15 minutes).
   */
  unservedAfterMs?: number;
  /** Name shown in CLIENT LIST. */
  connectionName: string;
  /**
   * Send the commands one event-loop turn issues in one socket write (ioredis auto-pipelining) on the
   * commands connection. The api sets it: every request makes its own small calls (the rate limit,
   * the quota), and batched they cost Redis 26% less CPU per authenticated submit. The worker does
   * not: its claims and acks are batched already, and the extra turn slowed its drain.
   */
  autoPipelining?: boolean;
}

/** How the scripts keep a finished task: a TTL'd hash (RESULTS_BACKEND=redis) or the archive index (postgres). */
/** What a finished task's hash waits for: its expiry (RESULTS_BACKEND=redis) or the archiver (postgres). */
export type FinishedMode = 'expire' | 'archive';

export function finishedMode(options: Pick<QueueModuleOptions, 'resultsBackend'>): FinishedMode {
  return options.resultsBackend === 'postgres' ? 'archive' : 'expire';
}
