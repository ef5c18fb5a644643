import type { TaskBackoff, TaskStatus } from '@app/contracts';

// The states are the contracts' list; exported here too, beside the task types that use them.
export { FINISHED_STATUSES, isFinishedStatus, TASK_STATUSES } from '@app/contracts';
export type { FinishedStatus, TaskStatus } from '@app/contracts';

/** The waiting states a purge empties (DELETE /queues/{name}/tasks): never active, never finished. */
export const PURGEABLE_STATUSES = ['queued', 'scheduled', 'retrying'] as const satisfies readonly TaskStatus[];
export type PurgeableStatus = (typeof PURGEABLE_STATUSES)[number];

/** Why a task ended in the dead-letter queue (scripts/lua/_prelude.lua checks the same list). */
export const DEAD_REASONS = [
  'max_retries',
  'non_retryable',
  'unknown_task_type',
  'invalid_payload',
  'timeout',
  'lease_expired',
  'result_too_large',
] as const;
export type DeadReason = (typeof DEAD_REASONS)[number];

/** A task to enqueue; the producer assigns the id. */
export interface NewTask {
  type: string;
  queue: string;
  /** Any JSON value; stored serialized. */
  payload: unknown;
  priority: number;
  maxRetries: number;
  timeoutMs: number;
  /** Run after this many ms ... */
  delayMs?: number;
  /** ... or at this epoch ms (not both). */
  runAt?: number;
  /**
   * With the same key and the same task (type, queue, payload, options) within the idempotency TTL,
   * the task is not written again: the original comes back (`replayed`). Another task with the same
   * key is a Conflict.
   */
  idempotencyKey?: string;
  /**
   * Refuse (Conflict) while an equal task is unfinished, for at most this long: one of the same type
   * and payload, or with `uniqueKey`, one with the same key in the queue.
   */
  uniqueForMs?: number;
  /** With uniqueForMs: what makes tasks equal is this caller's key, not the type and payload. */
  uniqueKey?: string;
  /** The task's own retry backoff; its type's applies when absent. */
  backoff?: TaskBackoff;
}

export interface EnqueuedTask {
  id: string;
  queue: string;
  status: 'queued' | 'scheduled';
  /** True when an idempotency key matched an earlier submit: `id` is that task's, nothing was written. */
  replayed: boolean;
}

/** A task a worker holds a lease on. */
export interface ClaimedTask {
  id: string;
  queue: string;
  type: string;
  /** The payload as stored (JSON text); parsed once by the worker. */
  payloadJson: string;
  leaseToken: string;
  /** 1 for the first run. */
  attempt: number;
  maxRetries: number;
  timeoutMs: number;
  priority: number;
  /** When the task became due (epoch ms, Redis clock). */
  dueAt: number;
  /** When this run was claimed (epoch ms, Redis clock). */
  claimedAt: number;
  /** The task's own retry backoff, if it was given one at submit; its type's applies otherwise. */
  backoff?: TaskBackoff;
}

/**
 * How one run ended: `succeeded`; `retried` or `dead` (it failed: retry scheduled, or dead-lettered);
 * `lease_expired` (its worker died or stalled; recovered); `released` (handed back at shutdown, the
 * attempt not burned); `cancelled` (cancelled while it ran).
 */
export const ATTEMPT_OUTCOMES = ['succeeded', 'retried', 'dead', 'lease_expired', 'released', 'cancelled'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** One run of a task, as the attempt history keeps it. */
export interface AttemptRecord {
  /** The attempt number the run had (a lease expiry or a release gives its number back). */
  attempt: number;
  startedAt: number | null;
  /** null while the run is in progress. */
  finishedAt: number | null;
  /** The worker that ran it (`<host>:<pid>:<random>`), when known. */
  worker: string | null;
  /** null while the run is in progress. */
  outcome: AttemptOutcome | null;
  /** The error's message and stack (truncated), for a run that failed. */
  error: string | null;
}

/** Everything the API shows about a task. */
export interface TaskRecord {
  id: string;
  queue: string;
  type: string;
  status: TaskStatus;
  priority: number;
  attempts: number;
  maxRetries: number;
  timeoutMs: number;
  recoveries: number;
  payload: unknown;
  result: unknown;
  lastError: string | null;
  deadReason: DeadReason | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  cancelledAt: number | null;
  nextRunAt: number | null;
  /** Every run, oldest first (at most the last 20 that did not succeed, plus the current or succeeded one). */
  attemptsHistory: AttemptRecord[];
  /** The schedule that enqueued the task, if one did. */
  scheduleId: string | null;
  /** The schedule's tick this task is for (epoch ms); null unless a schedule enqueued it. */
  scheduledAt: number | null;
  /** The caller's unique key it was submitted with (unique_key); null without one. */
  uniqueKey: string | null;
  /** Its own retry backoff; null when its type's applies. */
  backoff: TaskBackoff | null;
}

/** A task in a listing: everything but its payload, result, last error and submit options (a page stays small). */
export type TaskSummary = Omit<
  TaskRecord,
  'payload' | 'result' | 'lastError' | 'attemptsHistory' | 'uniqueKey' | 'backoff'
>;

/** A queue's controls: pause and limits, enforced by the claim script for every worker. */
export interface QueueControls {
  paused: boolean;
  /** At most `max` task starts per `perMs` window, across all workers; null = no limit. */
  rate: { max: number; perMs: number } | null;
  /** At most this many active tasks at once, across all workers; null = no cap. */
  concurrency: number | null;
}

export interface QueueStats {
  queue: string;
  counts: Record<TaskStatus, number>;
  /** Age of the oldest task waiting in `queued`, ms; null when none waits. */
  oldestQueuedAgeMs: number | null;
  /** Dead tasks dropped by DLQ_MAX_SIZE since the queue began. */
  deadTrimmed: number;
  /** Waiting tasks purged (DELETE /queues/{name}/tasks) since the queue began. */
  purged: number;
  controls: QueueControls;
  /** Ms since a worker last served the queue (its recoverer's sweep); null when none ever did. */
  lastServedAgoMs: number | null;
  /**
   * Queued tasks have waited longer than QUEUE_UNSERVED_AFTER_MS and no worker served the queue within it:
   * nobody is consuming it (no worker lists it in WORKER_QUEUES, or every such worker is gone).
   */
  unserved: boolean;
}

/** A dead task in the dead-letter listing: the summary and why it died (no payload or result). */
export interface DeadTaskSummary extends TaskSummary {
  lastError: string | null;
}

export interface DeadTaskPage {
  tasks: DeadTaskSummary[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

/** One minute of a queue's outcomes (finished runs), for throughput charts. */
export interface QueueMinute {
  /** Start of the minute, epoch ms. */
  minute: number;
  succeeded: number;
  dead: number;
  retried: number;
  cancelled: number;
}
