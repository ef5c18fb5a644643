import { ApiProperty } from '@nestjs/swagger';

export class SubmitResponseDto {
  @ApiProperty({ example: 'default.0mirvqk4x3bkn' })
  task_id!: string;

  @ApiProperty({
    enum: ['queued', 'scheduled'],
    description: 'What the submit did: queued, or scheduled when delayed (a replay: what the original submit did)',
  })
  status!: 'queued' | 'scheduled';

  @ApiProperty({ example: 'default' })
  queue!: string;
}

export class SubmitBatchResponseDto {
  @ApiProperty({ type: [String], description: 'In request order' })
  task_ids!: string[];

  @ApiProperty({
    type: 'array',
    items: { type: 'integer' },
    description:
      'Indexes of the tasks whose idempotency_key matched an earlier submit: their task_ids are the earlier tasks, nothing new was written for them',
  })
  replayed!: number[];
}
