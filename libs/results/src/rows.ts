import {
  ArchivedTask,
  AttemptRecord,
  DeadReason,
  decodeBackoff,
  encodeBackoff,
  TaskRecord,
  TaskStatus,
} from '@app/queue';

/** A task_results row as json_to_recordset reads it (see WRITE_COLUMNS); timestamps as epoch ms. */
export interface ResultRowInput {
  id: string;
  queue: string;
  task_type: string;
  status: string;
  priority: number;
  attempts: number;
  max_retries: number;
  timeout_ms: number;
  recoveries: number;
  payload: string;
  result: string | null;
  last_error: string | null;
  dead_reason: string | null;
  schedule_id: string | null;
  attempts_history: StoredAttempt[];
  created_at: number;
  started_at: number | null;
  finished_at: number;
  cancelled_at: number | null;
  scheduled_at: number | null;
  next_run_at: number | null;
  unique_lock: string | null;
  unique_for_ms: number | null;
  unique_key: string | null;
  backoff: string | null;
  rev: number;
}

/** One entry of attempts_history, as Redis stores it (epoch ms). */
interface StoredAttempt {
  attempt: number;
  started_at: number | null;
  finished_at: number | null;
  worker: string | null;
  outcome: string | null;
  error: string | null;
}

/** Columns written, with their types for json_to_recordset. */
export const WRITE_COLUMNS: [string, string][] = [
  ['id', 'text'],
  ['queue', 'text'],
  ['task_type', 'text'],
  ['status', 'text'],
  ['priority', 'integer'],
  ['attempts', 'integer'],
  ['max_retries', 'integer'],
  ['timeout_ms', 'integer'],
  ['recoveries', 'integer'],
  ['payload', 'text'],
  ['result', 'text'],
  ['last_error', 'text'],
  ['dead_reason', 'text'],
  ['schedule_id', 'text'],
  ['attempts_history', 'jsonb'],
  ['created_at', 'timestamptz'],
  ['started_at', 'timestamptz'],
  ['finished_at', 'timestamptz'],
  ['cancelled_at', 'timestamptz'],
  ['scheduled_at', 'timestamptz'],
  ['next_run_at', 'timestamptz'],
  ['unique_lock', 'text'],
  ['unique_for_ms', 'integer'],
  ['unique_key', 'text'],
  ['backoff', 'text'],
  ['rev', 'integer'],
];

// Lone UTF-16 surrogates and NUL: PostgreSQL text and json refuse both (a handler's error message can
// hold either). Replaced, so one odd string cannot block a batch.
// eslint-disable-next-line no-control-regex -- NUL is exactly what must be matched
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function storable(text: string): string;
export function storable(text: string | null): string | null;
export function storable(text: string | null): string | null {
  return text === null ? null : text.replace(UNSTORABLE, '\ufffd');
}

/** Epoch ms as sent (the upsert makes them timestamptz): no Date and ISO string per field per task. */
const epochMs = (value: number | null) => (value === null || !Number.isFinite(value) ? null : Math.round(value));

/** What an archived hash becomes in task_results. */
export function toRow(task: ArchivedTask): ResultRowInput {
  const r = task.record;
  return {
    id: r.id,
    queue: r.queue,
    task_type: storable(r.type ?? ''),
    status: r.status,
    priority: r.priority,
    attempts: r.attempts,
    max_retries: r.maxRetries,
    timeout_ms: r.timeoutMs,
    recoveries: r.recoveries,
    payload: storable(task.payloadJson),
    result: storable(task.resultJson),
    last_error: storable(r.lastError),
    dead_reason: r.deadReason,
    schedule_id: storable(r.scheduleId),
    attempts_history: r.attemptsHistory.map((a) => ({
      attempt: a.attempt,
      started_at: a.startedAt,
      finished_at: a.finishedAt,
      worker: storable(a.worker),
      outcome: a.outcome,
      error: storable(a.error),
    })),
    created_at: epochMs(r.createdAt) ?? 0,
    started_at: epochMs(r.startedAt),
    // A finished hash always has finished_at; the fallback only keeps a damaged one writable.
    finished_at: epochMs(r.finishedAt) ?? epochMs(r.cancelledAt) ?? Date.now(),
    cancelled_at: epochMs(r.cancelledAt),
    scheduled_at: epochMs(r.scheduledAt),
    next_run_at: epochMs(r.nextRunAt),
    unique_lock: storable(task.uniqueLock),
    unique_for_ms: task.uniqueForMs,
    unique_key: r.uniqueKey,
    backoff: r.backoff === null ? null : encodeBackoff(r.backoff),
    rev: task.rev,
  };
}

/** A task_results row as pg returns it. */
export interface ResultRow {
  id: string;
  queue: string;
  task_type: string;
  status: string;
  priority: number;
  attempts: number;
  max_retries: number;
  timeout_ms: number;
  recoveries: number;
  payload: string;
  result: string | null;
  last_error: string | null;
  dead_reason: string | null;
  schedule_id: string | null;
  attempts_history: StoredAttempt[];
  created_at: Date;
  started_at: Date | null;
  finished_at: Date;
  cancelled_at: Date | null;
  scheduled_at: Date | null;
  next_run_at: Date | null;
  unique_key: string | null;
  backoff: string | null;
}

export const READ_COLUMNS = [
  'id',
  'queue',
  'task_type',
  'status',
  'priority',
  'attempts',
  'max_retries',
  'timeout_ms',
  'recoveries',
  'payload',
  'result',
  'last_error',
  'dead_reason',
  'schedule_id',
  'attempts_history',
  'created_at',
  'started_at',
  'finished_at',
  'cancelled_at',
  'scheduled_at',
  'next_run_at',
  'unique_key',
  'backoff',
].join(', ');

function json(text: string | null): unknown {
  if (text === null || text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const ms = (date: Date | null) => (date === null ? null : date.getTime());

/** A row as the record the api shows, the same shape a Redis hash gives. */
export function fromRow(row: ResultRow): TaskRecord {
  return {
    id: row.id,
    queue: row.queue,
    type: row.task_type,
    status: row.status as TaskStatus,
    priority: row.priority,
    attempts: row.attempts,
    maxRetries: row.max_retries,
    timeoutMs: row.timeout_ms,
    recoveries: row.recoveries,
    payload: json(row.payload),
    result: json(row.result),
    lastError: row.last_error,
    deadReason: row.dead_reason as DeadReason | null,
    createdAt: row.created_at.getTime(),
    startedAt: ms(row.started_at),
    finishedAt: row.finished_at.getTime(),
    cancelledAt: ms(row.cancelled_at),
    scheduledAt: ms(row.scheduled_at),
    nextRunAt: ms(row.next_run_at),
    attemptsHistory: (row.attempts_history ?? []).map((a): AttemptRecord => ({
      attempt: a.attempt,
      startedAt: a.started_at ?? null,
      finishedAt: a.finished_at ?? null,
      worker: a.worker ?? null,
      outcome: (a.outcome ?? null) as AttemptRecord['outcome'],
      error: a.error ?? null,
    })),
    scheduleId: row.schedule_id,
    uniqueKey: row.unique_key,
    backoff: decodeBackoff(row.backoff),
  };
}
