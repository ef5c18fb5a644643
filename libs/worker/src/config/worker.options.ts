import { ConfigService } from '@nestjs/config';
import { BackoffOptions } from '@app/contracts';
import { parseQueueLimits, QueueLimits } from './queue-limits';
import { leaseRenewalIntervalMs, WorkerEnv } from './worker.env';

export interface WeightedQueue {
  name: string;
  weight: number;
}

/** The worker's typed options, built once from the validated environment. */
export interface WorkerOptions {
  concurrency: number;
  queues: WeightedQueue[];
  shutdownGraceMs: number;
  /** How often leases are renewed: a third of the lease (see leaseProblem in worker.env.ts). */
  heartbeatIntervalMs: number;
  recoveryIntervalMs: number;
  /** Entries per step of the key schema migration (KEY_MIGRATION_BATCH). */
  keyMigrationBatch: number;
  idleWaitMs: number;
  /** How late a `missed: skip` schedule's tick may still run (SCHEDULE_MISFIRE_GRACE_MS). */
  scheduleMisfireGraceMs: number;
  /** The deployment's retry backoff (RETRY_BACKOFF_*); a task type's contract may override it. */
  backoff: Required<BackoffOptions>;
  /** QUEUE_LIMITS: applied to these queues at boot. */
  queueLimits: Map<string, QueueLimits>;
  /** The write-behind to PostgreSQL (RESULTS_*); `postgres` false with RESULTS_BACKEND=redis. */
  results: ResultsWriteOptions;
  /** The pool of worker threads for thread-isolated task types (WORKER_THREADS, WORKER_THREAD_MEMORY_MB). */
  threads: { size: number; memoryMb: number };
}

export interface ResultsWriteOptions {
  postgres: boolean;
  retentionDays: number;
  bufferMax: number;
  batchSize: number;
  flushIntervalMs: number;
  leaseMs: number;
}

export const WORKER_OPTIONS = Symbol('taskq:worker-options');

/** "critical:6,default:3,low:1" → weights; a queue without a weight has weight 1. */
export function parseWorkerQueues(spec: string): WeightedQueue[] {
  const queues = spec.split(',').map((part) => {
    const [name, weight] = part.trim().split(':');
    return { name, weight: weight === undefined ? 1 : Number(weight) };
  });
  const names = new Set(queues.map((q) => q.name));
  if (names.size !== queues.length) throw new Error(`WORKER_QUEUES names a queue twice: ${spec}`);
  if (queues.some((q) => !(q.weight > 0))) throw new Error(`WORKER_QUEUES weights must be at least 1: ${spec}`);
  return queues;
}

export function workerOptionsFrom(config: ConfigService<WorkerEnv, true>): WorkerOptions {
  return {
    concurrency: config.get('WORKER_CONCURRENCY', { infer: true }),
    queues: parseWorkerQueues(config.get('WORKER_QUEUES', { infer: true })),
    shutdownGraceMs: config.get('SHUTDOWN_GRACE_MS', { infer: true }),
    heartbeatIntervalMs: leaseRenewalIntervalMs(config.get('TASK_LEASE_MS', { infer: true })),
    recoveryIntervalMs: config.get('RECOVERY_INTERVAL_MS', { infer: true }),
    keyMigrationBatch: config.get('KEY_MIGRATION_BATCH', { infer: true }),
    idleWaitMs: config.get('WORKER_IDLE_WAIT_MS', { infer: true }),
    scheduleMisfireGraceMs: config.get('SCHEDULE_MISFIRE_GRACE_MS', { infer: true }),
    backoff: {
      baseMs: config.get('RETRY_BACKOFF_BASE_MS', { infer: true }),
      maxMs: config.get('RETRY_BACKOFF_MAX_MS', { infer: true }),
    },
    queueLimits: parseQueueLimits(config.get('QUEUE_LIMITS', { infer: true })),
    results: {
      postgres: config.get('RESULTS_BACKEND', { infer: true }) === 'postgres',
      retentionDays: config.get('RESULTS_RETENTION_DAYS', { infer: true }),
      bufferMax: config.get('RESULTS_BUFFER_MAX', { infer: true }),
      batchSize: config.get('RESULTS_BATCH_SIZE', { infer: true }),
      flushIntervalMs: config.get('RESULTS_FLUSH_INTERVAL_MS', { infer: true }),
      leaseMs: config.get('RESULTS_LEASE_MS', { infer: true }),
    },
    threads: {
      size: config.get('WORKER_THREADS', { infer: true }),
      memoryMb: config.get('WORKER_THREAD_MEMORY_MB', { infer: true }),
    },
  };
}
