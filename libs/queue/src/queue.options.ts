/** What the queue library needs; the apps build it from their validated config. */
export interface QueueModuleOptions {
  /** e.g. redis://127.0.0.1:6379 (REDIS_URL). */
  redisUrl: string;
  /** Key prefix, so deployments can share one Redis (QUEUE_PREFIX). */
  prefix: string;
  /** Lease (visibility timeout) of a claimed task in ms (TASK_LEASE_MS). */
  leaseMs: number;
  /** How long finished tasks are kept, in seconds; 0 deletes them at once (RESULT_TTL_SECONDS). */
  resultTtlSeconds: number;
  /** Lease expiries a task may cause before it is dead-lettered (MAX_RECOVERIES). */
  maxRecoveries: number;
  /** Most queues that may exist; a submit that would create one more is refused. 0 = no cap (MAX_QUEUES). */
  maxQueues: number;
  /** Cap on dead tasks per queue; 0 = unlimited (DLQ_MAX_SIZE). */
  dlqMaxSize: number;
  /** A command that gets no reply in this time fails (so the API answers 503 quickly). */
  commandTimeoutMs: number;
  /** Name shown in CLIENT LIST. */
  connectionName: string;
}
