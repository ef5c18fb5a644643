import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { DEAD_CURSOR_PATTERN } from '@app/queue';
import { DeadTaskSummaryDto } from '../../tasks/dto/task.dto';
import { IsPresent, Omittable } from '../../validation/decorators';

const QUEUE_MESSAGE = 'queue must be 1-64 characters of [a-z0-9_-]';
/** The largest page of GET /dlq: summaries of at most ~5 KB each (last_error is cut at 4000 characters). */
export const MAX_DLQ_PAGE = 500;

export class DlqListQueryDto {
  @ApiPropertyOptional({
    pattern: QUEUE_NAME_PATTERN.source,
    description: "Only this queue's dead tasks; every queue's when left out",
  })
  @Omittable()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: QUEUE_MESSAGE })
  queue?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_DLQ_PAGE, description: 'Page size. Default: 50' })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_DLQ_PAGE)
  limit?: number;

  @ApiPropertyOptional({
    pattern: DEAD_CURSOR_PATTERN.source,
    example: '1796108400000:default.0mirvqk4x3bkn',
    description:
      'The next_cursor of the previous page: `<death time ms>:<task id>` of its last task, a position, not ' +
      'an offset. Pages stay put while tasks die or are requeued meanwhile: newer deaths sort before the ' +
      'first page (start again without a cursor to see them), and nothing is shown twice or skipped.',
  })
  @Omittable()
  @IsString()
  @Matches(DEAD_CURSOR_PATTERN, { message: 'cursor must be a next_cursor value from a previous page' })
  cursor?: string;
}

export class DlqPurgeQueryDto {
  @ApiProperty({
    pattern: QUEUE_NAME_PATTERN.source,
    description: 'The queue whose dead-letter queue is purged (required: a purge is always explicit)',
  })
  @IsPresent()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: QUEUE_MESSAGE })
  queue!: string;
}

export class DlqPageDto {
  @ApiProperty({
    type: [DeadTaskSummaryDto],
    description:
      'Newest deaths first (equal death times: higher task_id first); dead_reason and last_error say why. No payloads: GET /tasks/{id} has them',
  })
  tasks!: DeadTaskSummaryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: DEAD_CURSOR_PATTERN.source,
    description: 'Pass as cursor for the next page; null on the last page',
  })
  next_cursor!: string | null;
}

export class PurgeResultDto {
  @ApiProperty({ type: 'integer' })
  deleted!: number;
}
