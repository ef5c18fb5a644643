import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { SubmitTaskDto } from './submit-task.dto';

export class SubmitBatchDto {
  @ApiProperty({
    type: [SubmitTaskDto],
    description: 'Up to MAX_BATCH_SIZE tasks (default 1000); all valid, or none written',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => SubmitTaskDto)
  tasks!: SubmitTaskDto[];
}
