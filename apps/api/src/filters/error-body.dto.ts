import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SCOPES } from '@app/auth';

export class FieldErrorDto {
  @ApiProperty({ example: 'priority' })
  field!: string;

  @ApiProperty({ example: 'max' })
  rule!: string;

  @ApiProperty({ example: 'priority must not be greater than 100' })
  message!: string;
}

/** Every error the api answers has this shape. */
export class ErrorBodyDto {
  @ApiProperty({ type: 'integer', example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'priority must not be greater than 100' })
  message!: string;

  @ApiPropertyOptional({ type: [FieldErrorDto] })
  errors?: FieldErrorDto[];

  @ApiPropertyOptional({
    description:
      '409 only: the task the request conflicts with (the earlier task of an Idempotency-Key, or the unfinished task of a unique_for_ms submit); absent when it is another task of the same batch',
  })
  existing_task_id?: string;

  @ApiPropertyOptional({
    type: [String],
    description:
      'A batch spanning several queues only (503, or 409 for a conflict in one queue): the tasks that were stored (each queue part is atomic, the parts are not); resubmit only the others',
  })
  written_task_ids?: string[];

  @ApiPropertyOptional({
    enum: [...SCOPES],
    description: '403 only: the scope the credential lacks',
  })
  missing_scope?: string;

  @ApiPropertyOptional({
    example: 'default',
    description: '403 only: the queue the credential may not use',
  })
  queue?: string;

  @ApiPropertyOptional({
    description:
      '409 of the HTTP worker protocol (/work/{task_id}/…) only: true when the lease ended because the task was cancelled; stop working on it and report nothing',
  })
  cancelled?: boolean;
}
