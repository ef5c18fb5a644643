import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, Min, ValidateBy, ValidationOptions } from 'class-validator';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { FINISHED_STATUSES, FinishedStatus, HISTORY_CURSOR_PATTERN } from '@app/results';
import { IsRfc3339DateTime, Omittable, RFC3339_DATE_TIME } from '../../validation/decorators';
import { TaskDto } from './task.dto';

const TASK_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** `until` after `since`, when both are given. */
function IsAfterSince(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAfter',
      validator: {
        validate: (value, args) => {
          const since = (args?.object as TaskHistoryQueryDto).since;
          return since === undefined || typeof value !== 'string' || Date.parse(value) > Date.parse(since);
        },
        defaultMessage: () => 'until must be later than since',
      },
    },
    options,
  );
}

export class TaskHistoryQueryDto {
  @ApiPropertyOptional({ pattern: QUEUE_NAME_PATTERN.source, description: 'Only tasks of this queue' })
  @Omittable()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: 'queue must be 1-64 characters of [a-z0-9_-]' })
  queue?: string;

  @ApiPropertyOptional({ enum: FINISHED_STATUSES, description: 'Only tasks that ended so' })
  @Omittable()
  @IsIn(FINISHED_STATUSES, { message: `status must be one of ${FINISHED_STATUSES.join(', ')} (finished states)` })
  status?: FinishedStatus;

  @ApiPropertyOptional({ pattern: TASK_TYPE_PATTERN.source, description: 'Only tasks of this type' })
  @Omittable()
  @IsString()
  @Matches(TASK_TYPE_PATTERN, { message: 'task_type must be 1-128 characters of [A-Za-z0-9_.:-]' })
  task_type?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    pattern: RFC3339_DATE_TIME.source,
    example: '2030-01-01T00:00:00Z',
    description: 'Only tasks that finished at or after this time (RFC 3339 with a time zone)',
  })
  @Omittable()
  @IsRfc3339DateTime()
  since?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    pattern: RFC3339_DATE_TIME.source,
    example: '2030-01-02T00:00:00Z',
    description: 'Only tasks that finished before this time; later than since',
  })
  @Omittable()
  @IsRfc3339DateTime()
  @IsAfterSince()
  until?: string;

  @ApiPropertyOptional({
    pattern: HISTORY_CURSOR_PATTERN.source,
    example: '1796108400000:default.3b241101-e2bb-4255-8caf-4136c566a962',
    description:
      'The next_cursor of the previous page: `<finish time ms>:<task id>` of its last task, a position, not an ' +
      'offset. Tasks archived meanwhile finished later and sort before the first page; nothing is shown twice ' +
      'or skipped.',
  })
  @Omittable()
  @IsString()
  @Matches(HISTORY_CURSOR_PATTERN, { message: 'cursor must be a next_cursor value from a previous page' })
  cursor?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, description: 'Page size. Default: 50' })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class TaskHistoryPageDto {
  @ApiProperty({
    type: [TaskDto],
    description: 'Newest finish first (equal finish times: higher task_id first)',
  })
  tasks!: TaskDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: HISTORY_CURSOR_PATTERN.source,
    description: 'Pass as cursor for the next page; null on the last page',
  })
  next_cursor!: string | null;
}
