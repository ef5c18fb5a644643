import { ApiProperty, OmitType } from '@nestjs/swagger';
import { BACKOFF_LIMITS, BACKOFF_TYPES, TaskBackoff } from '@app/contracts';
import {
  ATTEMPT_OUTCOMES,
  AttemptOutcome,
  AttemptRecord,
  DEAD_REASONS,
  DeadReason,
  DeadTaskSummary,
  TASK_STATUSES,
  TaskRecord,
  TaskStatus,
  TaskSummary,
} from '@app/queue';
import { ApiAnyJson } from '../../openapi';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A task's own backoff as submitted: a curve {type, base_ms, max_ms?, jitter} or a schedule {delays_ms}. */
export type BackoffView =
  { type: (typeof BACKOFF_TYPES)[number]; base_ms: number; max_ms?: number; jitter: boolean } | { delays_ms: number[] };

function backoffView(backoff: TaskBackoff | null): BackoffView | null {
  if (backoff === null) return null;
  if ('delaysMs' in backoff) return { delays_ms: backoff.delaysMs };
  return {
    type: backoff.type,
    base_ms: backoff.baseMs,
    ...(backoff.maxMs === undefined ? {} : { max_ms: backoff.maxMs }),
    jitter: backoff.jitter,
  };
}

/** One run of a task (attempts_history). */
export class AttemptDto {
  @ApiProperty({
    type: 'integer',
    description: 'The attempt number the run had (a lease expiry or a release gives it back)',
  })
  attempt!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  started_at!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'null while the run is in progress' })
  finished_at!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The worker that ran it: `<host>:<pid>:<random>`' })
  worker!: string | null;

  @ApiProperty({
    type: String,
    enum: [...ATTEMPT_OUTCOMES, null],
    nullable: true,
    description:
      'succeeded; retried or dead (the run failed: retry scheduled, or dead-lettered); lease_expired (its ' +
      'worker died or stalled); released (handed back at shutdown); cancelled; null while in progress',
  })
  outcome!: AttemptOutcome | null;

  @ApiProperty({ type: String, nullable: true, description: 'For a failed run: the error and its stack, truncated' })
  error!: string | null;

  static from(attempt: AttemptRecord): AttemptDto {
    return {
      attempt: attempt.attempt,
      started_at: iso(attempt.startedAt),
      finished_at: iso(attempt.finishedAt),
      worker: attempt.worker,
      outcome: attempt.outcome,
      error: attempt.error,
    };
  }
}

export class TaskDto {
  @ApiProperty({ example: 'default.0mirvqk4x3bkn' })
  task_id!: string;

  @ApiProperty({ example: 'email' })
  task_type!: string;

  @ApiProperty({ example: 'default' })
  queue!: string;

  @ApiProperty({ enum: TASK_STATUSES })
  status!: TaskStatus;

  @ApiProperty({ type: 'integer', example: 0 })
  priority!: number;

  @ApiProperty({ type: 'integer', description: 'Runs started, including the current one' })
  attempts!: number;

  @ApiProperty({ type: 'integer' })
  max_retries!: number;

  @ApiProperty({ type: 'integer' })
  timeout_ms!: number;

  @ApiProperty({
    type: 'integer',
    description: 'Times the task was put back after its worker died (does not burn a retry)',
  })
  recoveries!: number;

  @ApiAnyJson({ description: 'The submitted payload (any JSON value)' })
  payload!: unknown;

  @ApiAnyJson({ description: "The handler's return value once succeeded (any JSON value); null before" })
  result!: unknown;

  @ApiProperty({ type: String, nullable: true })
  last_error!: string | null;

  @ApiProperty({
    type: String,
    enum: [...DEAD_REASONS, null],
    nullable: true,
    description: 'Why the task is dead; null unless it is (or was, before a requeue) dead',
  })
  dead_reason!: DeadReason | null;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Start of the latest run' })
  started_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When it succeeded, died or was cancelled',
  })
  finished_at!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it was cancelled' })
  cancelled_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the task is (or was) due to run',
  })
  next_run_at!: string | null;

  @ApiProperty({
    type: [AttemptDto],
    description:
      'Every run, oldest first: the last 20 that did not succeed, then the one in progress or the one that succeeded',
  })
  attempts_history!: AttemptDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'default~7c9e6679-7425-40de-944b-e07fc1f90ae7',
    description: 'The schedule that enqueued the task; null for a submitted task',
  })
  schedule_id!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: "The schedule's tick this task runs for; null for a submitted task",
  })
  scheduled_at!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'invoice-1234',
    description: 'The unique_key it was submitted with; null without one',
  })
  unique_key!: string | null;

  // Inline rather than a $ref: OpenAPI 3.0 cannot make a referenced schema nullable.
  @ApiProperty({
    type: 'object',
    nullable: true,
    properties: {
      type: { type: 'string', enum: [...BACKOFF_TYPES] },
      base_ms: { type: 'integer', minimum: BACKOFF_LIMITS.baseMs.min, maximum: BACKOFF_LIMITS.baseMs.max },
      max_ms: { type: 'integer', minimum: BACKOFF_LIMITS.maxMs.min, maximum: BACKOFF_LIMITS.maxMs.max },
      jitter: { type: 'boolean' },
      delays_ms: {
        type: 'array',
        items: { type: 'integer', minimum: BACKOFF_LIMITS.delayMs.min, maximum: BACKOFF_LIMITS.delayMs.max },
      },
    },
    additionalProperties: false,
    description:
      "Its own retry backoff as submitted, {type, base_ms, max_ms?, jitter} or {delays_ms}; null when its type's applies",
  })
  backoff!: BackoffView | null;

  static from(task: TaskRecord): TaskDto {
    return {
      ...TaskSummaryDto.from(task),
      payload: task.payload,
      result: task.result,
      last_error: task.lastError,
      attempts_history: task.attemptsHistory.map(AttemptDto.from),
      unique_key: task.uniqueKey,
      backoff: backoffView(task.backoff),
    };
  }
}

/** A task in a listing: all but payload, result, last_error, attempts_history and the submit options (GET /tasks/{id} has them). */
export class TaskSummaryDto extends OmitType(TaskDto, [
  'payload',
  'result',
  'last_error',
  'attempts_history',
  'unique_key',
  'backoff',
] as const) {
  static from(task: TaskSummary): TaskSummaryDto {
    return {
      task_id: task.id,
      task_type: task.type,
      queue: task.queue,
      status: task.status,
      priority: task.priority,
      attempts: task.attempts,
      max_retries: task.maxRetries,
      timeout_ms: task.timeoutMs,
      recoveries: task.recoveries,
      dead_reason: task.deadReason,
      created_at: iso(task.createdAt)!,
      started_at: iso(task.startedAt),
      finished_at: iso(task.finishedAt),
      cancelled_at: iso(task.cancelledAt),
      next_run_at: iso(task.nextRunAt),
      schedule_id: task.scheduleId,
      scheduled_at: iso(task.scheduledAt),
    };
  }
}

/** A task of the dead-letter listing: the summary and its last error (GET /tasks/{id} has the payload). */
export class DeadTaskSummaryDto extends OmitType(TaskDto, [
  'payload',
  'result',
  'attempts_history',
  'unique_key',
  'backoff',
] as const) {
  static from(task: DeadTaskSummary): DeadTaskSummaryDto {
    return { ...TaskSummaryDto.from(task), last_error: task.lastError };
  }
}
