import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Length, Matches, Max, Min, ValidateBy, ValidationOptions } from 'class-validator';
import { QUEUE_NAME_PATTERN, TASK_TYPE_PATTERN } from '@app/contracts';
import { MAX_SCANNED_PER_PAGE, SEARCH_LIMITS, TASK_CURSOR_PATTERN, TASK_STATUSES, TaskStatus } from '@app/queue';
import { MAX_WAIT_MS } from '../../config/api.env';
import { IsRfc3339DateTime, Omittable, RFC3339_DATE_TIME } from '../../validation/decorators';
import { TaskSummaryDto } from './task.dto';

/** The largest page of GET /tasks. */
export const MAX_PAGE_SIZE = 500;

/** A search text: printable (no control characters: the PostgreSQL search joins its fields with a newline). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
export const SEARCH_PATTERN = /^[^\u0000-\u001f\u007f]*$/;

/** `until` after `since`, when both are given. */
function IsAfterSince(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAfter',
      validator: {
        validate: (value, args) => {
          const since = (args?.object as TaskListQueryDto).since;
          return since === undefined || typeof value !== 'string' || Date.parse(value) > Date.parse(since);
        },
        defaultMessage: () => 'until must be later than since',
      },
    },
    options,
  );
}

export class TaskGetQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_WAIT_MS,
    description:
      'Hold the request until the task has finished (succeeded, dead or cancelled) or this many ms passed, then answer it as it stands. Default: 0 (answer at once)',
  })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_WAIT_MS)
  wait_ms?: number;
}

export class TaskListQueryDto {
  @ApiPropertyOptional({
    enum: TASK_STATUSES,
    description:
      'The state to list: succeeded, dead and cancelled newest first; scheduled, queued, retrying and active in the ' +
      'order they run (or are due). Required with RESULTS_BACKEND=redis; with postgres, left out lists every finished task',
  })
  @Omittable()
  @IsIn(TASK_STATUSES)
  status?: TaskStatus;

  @ApiPropertyOptional({
    pattern: QUEUE_NAME_PATTERN.source,
    description: "Only this queue's tasks; every queue's when left out",
  })
  @Omittable()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: 'queue must be 1-64 characters of [a-z0-9_-]' })
  queue?: string;

  @ApiPropertyOptional({
    pattern: TASK_TYPE_PATTERN.source,
    description: `Only tasks of this type (a page examines at most ${MAX_SCANNED_PER_PAGE} tasks, so a page can be short with a next_cursor to go on from)`,
  })
  @Omittable()
  @IsString()
  @Matches(TASK_TYPE_PATTERN, { message: 'task_type must be 1-128 characters of [A-Za-z0-9_.:-]' })
  task_type?: string;

  @ApiPropertyOptional({
    minLength: SEARCH_LIMITS.minLength,
    maxLength: SEARCH_LIMITS.maxLength,
    pattern: SEARCH_PATTERN.source,
    example: 'connection refused',
    description:
      `Search: tasks whose id starts with q, or whose last_error or dead_reason contains q, case-insensitive; ` +
      `${SEARCH_LIMITS.minLength}-${SEARCH_LIMITS.maxLength} characters, no control characters. A whole task id ` +
      `finds that task alone (one lookup). In Redis a page examines at most ${MAX_SCANNED_PER_PAGE} tasks of the ` +
      'state, so it can be short with a next_cursor to go on from; the PostgreSQL history uses a trigram index',
  })
  @Omittable()
  @IsString()
  @Length(SEARCH_LIMITS.minLength, SEARCH_LIMITS.maxLength, {
    message: `q must be ${SEARCH_LIMITS.minLength}-${SEARCH_LIMITS.maxLength} characters`,
  })
  @Matches(SEARCH_PATTERN, { message: 'q must not contain control characters' })
  q?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    pattern: RFC3339_DATE_TIME.source,
    example: '2030-01-01T00:00:00Z',
    description: 'PostgreSQL history only: tasks that finished at or after this time (RFC 3339 with a time zone)',
  })
  @Omittable()
  @IsRfc3339DateTime()
  since?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    pattern: RFC3339_DATE_TIME.source,
    example: '2030-01-02T00:00:00Z',
    description: 'PostgreSQL history only: tasks that finished before this time; later than since',
  })
  @Omittable()
  @IsRfc3339DateTime()
  @IsAfterSince()
  until?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, description: 'Page size. Default: 50' })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @ApiPropertyOptional({
    pattern: TASK_CURSOR_PATTERN.source,
    description:
      'The next_cursor of the previous page: `<index score>:<task id>`, a position (not an offset), so tasks arriving or leaving meanwhile neither repeat nor skip a task that stayed',
  })
  @Omittable()
  @IsString()
  @Matches(TASK_CURSOR_PATTERN, { message: 'cursor must be a next_cursor value from a previous page' })
  cursor?: string;
}

export class TaskPageDto {
  @ApiProperty({ type: [TaskSummaryDto] })
  tasks!: TaskSummaryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: TASK_CURSOR_PATTERN.source,
    description: 'Pass as cursor for the next page; null at the end',
  })
  next_cursor!: string | null;
}
