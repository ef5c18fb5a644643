import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsObject, ValidateNested } from 'class-validator';
import { ApiSchemaKeywords } from '../../openapi';
import { IsPresent } from '../../validation/decorators';
import { SubmitTaskDto } from './submit-task.dto';

/** `maxItems` (MAX_BATCH_SIZE) is set at boot, in the document and in the api's body check (submit-body.checks.ts). */
@ApiSchemaKeywords({ additionalProperties: false })
export class SubmitBatchDto {
  @ApiProperty({
    type: [SubmitTaskDto],
    minItems: 1,
    description: 'Up to MAX_BATCH_SIZE tasks (default 1000); all valid, or none written',
  })
  @IsPresent()
  @IsArray()
  @ArrayMinSize(1)
  // ValidateNested alone lets an array through as a task (it validates the array's items instead).
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => SubmitTaskDto)
  tasks!: SubmitTaskDto[];
}
