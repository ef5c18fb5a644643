import { ApiProperty } from '@nestjs/swagger';

export class SubmitResponseDto {
  @ApiProperty({ example: 'default.3b241101-e2bb-4255-8caf-4136c566a962' })
  task_id!: string;

  @ApiProperty({ enum: ['queued', 'scheduled'] })
  status!: 'queued' | 'scheduled';

  @ApiProperty({ example: 'default' })
  queue!: string;
}

export class SubmitBatchResponseDto {
  @ApiProperty({ type: [String], description: 'In request order' })
  task_ids!: string[];
}
