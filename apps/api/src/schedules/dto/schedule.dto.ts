import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { MISSED_POLICIES, SCHEDULE_NAME_PATTERN, TASK_STATUSES } from '@app/queue';
import type { MissedPolicy, ScheduleView, TaskStatus } from '@app/queue';
import { ApiAnyJson } from '../../openapi';
import { Omittable } from '../../validation/decorators';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The task a schedule enqueues, with its defaults resolved. */
export class ScheduleTaskViewDto {
  @ApiProperty({ example: 'email' })
  task_type!: string;

  @ApiAnyJson({ description: 'The payload of every task it enqueues (any JSON value)' })
  payload!: unknown;

  @ApiProperty({ example: 'default' })
  queue!: string;

  @ApiProperty({ type: 'integer' })
  priority!: number;

  @ApiProperty({ type: 'integer' })
  max_retries!: number;

  @ApiProperty({ type: 'integer' })
  timeout_ms!: number;
}

export class ScheduleDto {
  @ApiProperty({ example: 'default~7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  schedule_id!: string;

  @ApiProperty({ example: 'nightly-report' })
  name!: string;

  @ApiProperty({ type: String, nullable: true, example: '0 3 * * *', description: 'null for an every_ms schedule' })
  cron!: string | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'null for a cron schedule' })
  every_ms!: number | null;

  @ApiProperty({ type: String, nullable: true, example: 'Europe/Berlin', description: 'null for an every_ms schedule' })
  tz!: string | null;

  @ApiProperty({ type: ScheduleTaskViewDto })
  task!: ScheduleTaskViewDto;

  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ enum: MISSED_POLICIES })
  missed!: MissedPolicy;

  @ApiProperty({ type: 'integer' })
  catch_up_limit!: number;

  @ApiProperty({
    type: [String],
    format: 'date-time',
    maxItems: 5,
    description: 'The next (up to) 5 run times, the first being next_run_at; empty when disabled',
  })
  next_runs!: string[];

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'The tick it waits for (in the past while overdue); null when disabled or no tick is left',
  })
  next_run_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'The tick (scheduled time) of the latest task it enqueued',
  })
  last_run_at!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The latest task it enqueued (GET /tasks/{id})' })
  last_task_id!: string | null;

  @ApiProperty({
    type: String,
    enum: [...TASK_STATUSES, null],
    nullable: true,
    description:
      "That task's status, from Redis or (RESULTS_BACKEND=postgres, once it has left Redis) the history; null before the first run, once the task expired (RESULT_TTL_SECONDS, RESULTS_RETENTION_DAYS), or while PostgreSQL is unreachable",
  })
  last_task_status!: TaskStatus | null;

  @ApiProperty({ type: 'integer', description: 'Tasks it enqueued since it was created' })
  runs!: number;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time' })
  updated_at!: string;

  static from(view: ScheduleView, nextRuns: number[]): ScheduleDto {
    const cron = 'cron' in view.spec ? view.spec : undefined;
    return {
      schedule_id: view.id,
      name: view.name,
      cron: cron?.cron ?? null,
      every_ms: 'everyMs' in view.spec ? view.spec.everyMs : null,
      tz: cron?.tz ?? null,
      task: {
        task_type: view.task.type,
        payload: view.task.payload,
        queue: view.task.queue,
        priority: view.task.priority,
        max_retries: view.task.maxRetries,
        timeout_ms: view.task.timeoutMs,
      },
      enabled: view.enabled,
      missed: view.missed,
      catch_up_limit: view.catchUpLimit,
      next_runs: nextRuns.map((ms) => iso(ms)!),
      next_run_at: iso(view.nextRunAt),
      last_run_at: iso(view.lastRunAt),
      last_task_id: view.lastTaskId,
      last_task_status: view.lastTaskStatus,
      runs: view.runs,
      created_at: iso(view.createdAt)!,
      updated_at: iso(view.updatedAt)!,
    };
  }
}

/** The largest page of GET /schedules: each schedule is read and its next 5 runs computed. */
export const MAX_SCHEDULE_PAGE = 100;

export class ScheduleListQueryDto {
  @ApiPropertyOptional({
    pattern: QUEUE_NAME_PATTERN.source,
    description: "Only the schedules that enqueue into this queue; every queue's the caller may see when left out",
  })
  @Omittable()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: 'queue must be 1-64 characters of [a-z0-9_-]' })
  queue?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_SCHEDULE_PAGE,
    description: 'Page size. Default: 50',
  })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SCHEDULE_PAGE)
  limit?: number;

  @ApiPropertyOptional({
    pattern: SCHEDULE_NAME_PATTERN.source,
    example: 'nightly-report',
    description:
      'The next_cursor of the previous page: the name of its last schedule. The next page starts after that ' +
      'name, so schedules created or deleted meanwhile shift nothing.',
  })
  @Omittable()
  @IsString()
  @Matches(SCHEDULE_NAME_PATTERN, { message: 'cursor must be a next_cursor value from a previous page' })
  cursor?: string;
}

export class ScheduleListDto {
  @ApiProperty({ type: [ScheduleDto], description: 'The schedules the caller may see, by name' })
  schedules!: ScheduleDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: SCHEDULE_NAME_PATTERN.source,
    description: 'Pass as cursor for the next page; null on the last page',
  })
  next_cursor!: string | null;
}
