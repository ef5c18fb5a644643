export const TASK_STATUSES = ['scheduled', 'queued', 'active', 'retrying', 'succeeded', 'dead'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Why a task ended in the dead-letter queue (scripts/lua/_prelude.lua checks the same list). */
export const DEAD_REASONS = [
  'max_retries',
  'non_retryable',
  'unknown_task_type',
  'invalid_payload',
  'timeout',
  'lease_expired',
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
}

export interface EnqueuedTask {
  id: string;
  queue: string;
  status: 'queued' | 'scheduled';
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
  nextRunAt: number | null;
}

export interface QueueStats {
  queue: string;
  counts: Record<TaskStatus, number>;
  /** Age of the oldest task waiting in `queued`, ms; null when none waits. */
  oldestQueuedAgeMs: number | null;
  /** Dead tasks dropped by DLQ_MAX_SIZE since the queue began. */
  deadTrimmed: number;
}

export interface DeadTaskPage {
  tasks: TaskRecord[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}
