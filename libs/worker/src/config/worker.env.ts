import { availableParallelism } from 'node:os';
import { Transform } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';
import { SharedEnv, toInt } from '@app/config';
import { queueLimitsProblem } from './queue-limits';

/** How often a worker renews its leases: every third of TASK_LEASE_MS. */
export function leaseRenewalIntervalMs(leaseMs: number): number {
  return Math.max(100, Math.floor(leaseMs / 3));
}

/**
 * What is wrong with a lease that a renewal cannot keep alive, or undefined: a renewal is sent every
 * third of the lease and may take up to REDIS_COMMAND_TIMEOUT_MS to land, so both together must stay
 * under the lease, or one slow (not even failed) renewal loses it.
 */
export function leaseProblem(leaseMs: number, commandTimeoutMs: number): string | undefined {
  const renewEveryMs = leaseRenewalIntervalMs(leaseMs);
  if (renewEveryMs + commandTimeoutMs < leaseMs) return undefined;
  let minLeaseMs = leaseMs + 1;
  while (leaseRenewalIntervalMs(minLeaseMs) + commandTimeoutMs >= minLeaseMs) minLeaseMs++;
  const maxTimeoutMs = leaseMs - renewEveryMs - 1;
  return (
    `TASK_LEASE_MS=${leaseMs} is too short for REDIS_COMMAND_TIMEOUT_MS=${commandTimeoutMs}: leases are renewed every ` +
    `third of TASK_LEASE_MS (${renewEveryMs} ms) and a renewal may take REDIS_COMMAND_TIMEOUT_MS to land, so a ` +
    `live worker could lose its leases. Raise TASK_LEASE_MS to at least ${minLeaseMs} (3 × REDIS_COMMAND_TIMEOUT_MS ` +
    `or more also survives one failed renewal)` +
    (maxTimeoutMs >= 100 ? ` or lower REDIS_COMMAND_TIMEOUT_MS to at most ${maxTimeoutMs}` : '')
  );
}

/** The worker's environment: the shared variables plus the pool, retry and shutdown settings. */
export class WorkerEnv extends SharedEnv {
  /** Rules between variables, checked after each one passed its own. */
  static crossChecks(env: WorkerEnv): string[] {
    const lease = leaseProblem(env.TASK_LEASE_MS, env.REDIS_COMMAND_TIMEOUT_MS);
    return lease ? [lease] : [];
  }

  @Transform(toInt)
  @Max(65535)
  @Min(1)
  @IsInt()
  METRICS_PORT = 9101;

  @Transform(toInt)
  @Max(10_000)
  @Min(1)
  @IsInt()
  WORKER_CONCURRENCY = 10;

  /**
   * Worker threads for thread-isolated task types (`@TaskHandler(type, { isolation: 'thread', file })`),
   * shared by all of them; started at boot when the worker has such a type. 0 refuses to boot if it has.
   */
  @Transform(toInt)
  @Max(256)
  @Min(0)
  @IsInt()
  WORKER_THREADS = Math.min(2, availableParallelism());

  /** Heap limit of each worker thread in MB (0: V8's default); a thread over it dies and fails only its run. */
  @Transform(toInt)
  @Max(1_048_576)
  @Min(0)
  @IsInt()
  WORKER_THREAD_MEMORY_MB = 0;

  @IsString()
  @Matches(/^[a-z0-9_-]{1,64}(:\d{1,4})?(,[a-z0-9_-]{1,64}(:\d{1,4})?)*$/, {
    message: 'WORKER_QUEUES must be a comma-separated list of queue[:weight], e.g. critical:6,default:3,low:1',
  })
  WORKER_QUEUES = 'default';

  @Transform(toInt)
  @Max(3_600_000)
  @Min(0)
  @IsInt()
  SHUTDOWN_GRACE_MS = 15_000;

  /** Entries per step of the key schema migration (each step one short script; smaller holds Redis for less). */
  @Transform(toInt)
  @Max(1000)
  @Min(1)
  @IsInt()
  KEY_MIGRATION_BATCH = 500;

  /** Longest an idle worker blocks waiting for a wake-up before checking again. */
  @Transform(toInt)
  @Max(60_000)
  @Min(10)
  @IsInt()
  WORKER_IDLE_WAIT_MS = 1000;

  /**
   * Queue limits this worker applies at boot (they then hold for every worker, as if set with
   * PUT /queues/{name}/limits): `{"emails":{"rate":{"max":100,"per_ms":1000},"concurrency":20}}`.
   */
  @IsString()
  @ValidateBy({
    name: 'isQueueLimits',
    validator: {
      validate: (value) => typeof value === 'string' && queueLimitsProblem(value) === undefined,
      defaultMessage: (args) => `QUEUE_LIMITS ${queueLimitsProblem(String(args?.value))}`,
    },
  })
  QUEUE_LIMITS = '';

  /** RESULTS_BACKEND=postgres: rows finished longer ago are deleted (0 = keep them forever). */
  @Transform(toInt)
  @Max(36_500)
  @Min(0)
  @IsInt()
  RESULTS_RETENTION_DAYS = 30;

  /**
   * RESULTS_BACKEND=postgres: finished tasks a queue may hold in Redis waiting for PostgreSQL; at this
   * many, workers claim no new task of the queue until the backlog drains (back-pressure, not loss).
   */
  @Transform(toInt)
  @Max(100_000_000)
  @Min(1)
  @IsInt()
  RESULTS_BUFFER_MAX = 100_000;

  /** RESULTS_BACKEND=postgres: most tasks one archiver writes in one transaction. */
  @Transform(toInt)
  @Max(10_000)
  @Min(1)
  @IsInt()
  RESULTS_BATCH_SIZE = 500;

  /** RESULTS_BACKEND=postgres: how often an idle archiver looks for finished tasks to write. */
  @Transform(toInt)
  @Max(60_000)
  @Min(10)
  @IsInt()
  RESULTS_FLUSH_INTERVAL_MS = 200;

  /**
   * RESULTS_BACKEND=postgres: how long a batch an archiver claimed is its own; the batch of a worker
   * that died is written by another after this long. Keep it well above a batch's write time.
   */
  @Transform(toInt)
  @Max(600_000)
  @Min(1000)
  @IsInt()
  RESULTS_LEASE_MS = 30_000;

  /** A `missed: skip` schedule still runs a tick up to this late; a later tick is skipped as missed. */
  @Transform(toInt)
  @Max(86_400_000)
  @Min(0)
  @IsInt()
  SCHEDULE_MISFIRE_GRACE_MS = 60_000;
}
