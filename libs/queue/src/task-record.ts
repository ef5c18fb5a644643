import { decodeBackoff } from './backoff-field';
import { callerKeyOfUniqueLock, createdAtOfTaskId } from './keys/queue-keys';
import { AttemptOutcome, AttemptRecord, DeadReason, TaskRecord, TaskStatus, TaskSummary } from './task';

const num = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));

const json = (value: string | undefined): unknown => {
  if (value === undefined || value === '') return null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

/**
 * The run settings a task hash stores only when they differ from these (the schema's values, not the
 * deployment's defaults). The Lua prelude has the same table as UNSTORED, and a test holds the two equal.
 */
export const UNSTORED_SETTINGS = { maxRetries: 3, timeoutMs: 60_000 } as const;

/** The hash fields a listing reads (HMGET): all but payload, result and last error. */
export const SUMMARY_FIELDS = [
  'type',
  'status',
  'priority',
  'attempts',
  'max_retries',
  'timeout_ms',
  'recoveries',
  'dead_reason',
  'created_at',
  'started_at',
  'finished_at',
  'cancelled_at',
  'next_run_at',
  'schedule_id',
  'scheduled_at',
] as const;

/** The worker part of a lease token `<worker id>:<call>:<slot>` (see QueueConsumer.workerId). */
export function workerOfToken(token: string | undefined): string | null {
  const match = token === undefined ? null : /^(.*):\d+:\d+$/.exec(token);
  return match ? match[1] : null;
}

interface StoredAttempt {
  attempt?: number;
  started_at?: number;
  finished_at?: number;
  worker?: string;
  outcome?: AttemptOutcome;
  error?: string;
}

/**
 * The attempt history: the runs the scripts stored (`history`, those that did not succeed), then the
 * run in progress or the succeeded one, which the hash itself describes.
 */
export function attemptsOf(hash: Record<string, string>): AttemptRecord[] {
  let stored: StoredAttempt[] = [];
  try {
    const parsed: unknown = hash.history ? JSON.parse(hash.history) : [];
    if (Array.isArray(parsed)) stored = parsed as StoredAttempt[];
  } catch {
    // A damaged history is shown as none rather than failing the read.
  }
  const attempts: AttemptRecord[] = stored.map((entry) => ({
    attempt: Number(entry.attempt ?? 0),
    startedAt: entry.started_at ?? null,
    finishedAt: entry.finished_at ?? null,
    worker: entry.worker ?? null,
    outcome: entry.outcome ?? null,
    error: entry.error ?? null,
  }));
  const current = {
    attempt: Number(hash.attempts ?? 0),
    startedAt: num(hash.started_at),
    error: null,
  };
  if (hash.status === 'active') {
    attempts.push({ ...current, finishedAt: null, worker: workerOfToken(hash.lease), outcome: null });
  } else if (hash.status === 'succeeded') {
    attempts.push({ ...current, finishedAt: num(hash.finished_at), worker: hash.worker || null, outcome: 'succeeded' });
  }
  return attempts;
}

/** A task hash (HGETALL) as the record the API shows. */
export function toTaskRecord(id: string, queue: string, hash: Record<string, string>): TaskRecord {
  return { ...toTaskRecordWithoutBodies(id, queue, hash), payload: json(hash.payload), result: json(hash.result) };
}

/**
 * The record without its payload and result: what the archive needs, which keeps those two as the
 * stored JSON text (parsing them only to encode them again was a sixth of the archiver's CPU).
 */
export function toTaskRecordWithoutBodies(
  id: string,
  queue: string,
  hash: Record<string, string>,
): Omit<TaskRecord, 'payload' | 'result'> {
  return {
    ...toTaskSummary(id, queue, hash),
    lastError: hash.last_error ?? null,
    attemptsHistory: attemptsOf(hash),
    uniqueKey: callerKeyOfUniqueLock(hash.unique_key),
    backoff: decodeBackoff(hash.backoff),
  };
}

/** A task hash (at least SUMMARY_FIELDS) as a listing shows it. */
export function toTaskSummary(id: string, queue: string, hash: Record<string, string>): TaskSummary {
  // Not stored when the id holds it (ids of the current form); see the scripts' prelude.
  const createdAt = hash.created_at !== undefined ? Number(hash.created_at) : (createdAtOfTaskId(id) ?? Number.NaN);
  return {
    id,
    queue,
    type: hash.type,
    status: hash.status as TaskStatus,
    priority: Number(hash.priority ?? 0),
    attempts: Number(hash.attempts ?? 0),
    maxRetries: Number(hash.max_retries ?? UNSTORED_SETTINGS.maxRetries),
    timeoutMs: Number(hash.timeout_ms ?? UNSTORED_SETTINGS.timeoutMs),
    recoveries: Number(hash.recoveries ?? 0),
    deadReason: (hash.dead_reason as DeadReason | undefined) ?? null,
    createdAt,
    startedAt: num(hash.started_at),
    finishedAt: num(hash.finished_at),
    cancelledAt: num(hash.cancelled_at),
    // Not stored while it equals created_at (a task queued at once).
    nextRunAt: hash.next_run_at !== undefined ? num(hash.next_run_at) : createdAt,
    scheduleId: hash.schedule_id || null,
    scheduledAt: num(hash.scheduled_at),
  };
}
