import { DeadReason, TaskRecord, TaskStatus } from './task';

const num = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));

const json = (value: string | undefined): unknown => {
  if (value === undefined || value === '') return null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

/** A task hash (HGETALL) as the record the API shows. */
export function toTaskRecord(id: string, queue: string, hash: Record<string, string>): TaskRecord {
  return {
    id,
    queue,
    type: hash.type,
    status: hash.status as TaskStatus,
    priority: Number(hash.priority ?? 0),
    attempts: Number(hash.attempts ?? 0),
    maxRetries: Number(hash.max_retries ?? 0),
    timeoutMs: Number(hash.timeout_ms ?? 0),
    recoveries: Number(hash.recoveries ?? 0),
    payload: json(hash.payload),
    result: json(hash.result),
    lastError: hash.last_error ?? null,
    deadReason: (hash.dead_reason as DeadReason | undefined) ?? null,
    createdAt: Number(hash.created_at),
    startedAt: num(hash.started_at),
    finishedAt: num(hash.finished_at),
    cancelledAt: num(hash.cancelled_at),
    nextRunAt: num(hash.next_run_at),
    scheduleId: hash.schedule_id ?? null,
    scheduledAt: num(hash.scheduled_at),
  };
}
