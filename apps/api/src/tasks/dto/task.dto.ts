import { ApiProperty } from '@nestjs/swagger';
import { DeadReason, TASK_STATUSES, TaskRecord, TaskStatus } from '@app/queue';
import { ApiAnyJson } from '../../openapi';

/** Every DeadReason, as the document's enum; the type below fails to compile when one is missing. */
export const DEAD_REASONS = [
  'max_retries',
  'non_retryable',
  'unknown_task_type',
  'invalid_payload',
  'timeout',
  'lease_expired',
] as const satisfies readonly DeadReason[];
const _everyDeadReason: [Exclude<DeadReason, (typeof DEAD_REASONS)[number]>] extends [never] ? true : never = true;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class TaskDto {
  @ApiProperty({ example: 'default.3b241101-e2bb-4255-8caf-4136c566a962' })
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

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finished_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the task is (or was) due to run',
  })
  next_run_at!: string | null;

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

  static from(task: TaskRecord): TaskDto {
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
      payload: task.payload,
      result: task.result,
      last_error: task.lastError,
      dead_reason: task.deadReason,
      created_at: iso(task.createdAt)!,
      started_at: iso(task.startedAt),
      finished_at: iso(task.finishedAt),
      next_run_at: iso(task.nextRunAt),
      schedule_id: task.scheduleId,
      scheduled_at: iso(task.scheduledAt),
    };
  }
}
