import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { TaskDto } from '../../tasks/dto/task.dto';

export class DlqQueueQueryDto {
  @ApiPropertyOptional({ default: 'default', pattern: QUEUE_NAME_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: 'queue must be 1-64 characters of [a-z0-9_-]' })
  queue?: string;
}

export class DlqListQueryDto extends DlqQueueQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, description: 'Page size. Default: 50' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,12}$/, { message: 'cursor must be a next_cursor value from a previous page' })
  cursor?: string;
}

export class DlqPageDto {
  @ApiProperty({ type: [TaskDto], description: 'Newest deaths first; dead_reason and last_error say why' })
  tasks!: TaskDto[];

  @ApiProperty({ type: String, nullable: true })
  next_cursor!: string | null;
}

export class PurgeResultDto {
  @ApiProperty({ type: 'integer' })
  deleted!: number;
}
