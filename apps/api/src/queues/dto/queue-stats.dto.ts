import { ApiProperty } from '@nestjs/swagger';
import { QueueStats } from '@app/queue';

export class QueueCountsDto {
  @ApiProperty({ type: 'integer' }) scheduled!: number;
  @ApiProperty({ type: 'integer' }) queued!: number;
  @ApiProperty({ type: 'integer' }) active!: number;
  @ApiProperty({ type: 'integer' }) retrying!: number;
  @ApiProperty({ type: 'integer', description: 'Finished and still retained (RESULT_TTL_SECONDS)' }) succeeded!: number;
  @ApiProperty({ type: 'integer', description: 'In the dead-letter queue' }) dead!: number;
  @ApiProperty({ type: 'integer', description: 'Cancelled and still retained (RESULT_TTL_SECONDS)' })
  cancelled!: number;
}

export class QueueStatsDto {
  @ApiProperty({ example: 'default' })
  queue!: string;

  @ApiProperty({ type: QueueCountsDto })
  counts!: QueueCountsDto;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Age of the oldest queued task in ms; null when none waits',
  })
  oldest_queued_age_ms!: number | null;

  @ApiProperty({ type: 'integer', description: 'Dead tasks dropped by DLQ_MAX_SIZE' })
  dead_trimmed!: number;

  static from(stats: QueueStats): QueueStatsDto {
    return {
      queue: stats.queue,
      counts: stats.counts,
      oldest_queued_age_ms: stats.oldestQueuedAgeMs,
      dead_trimmed: stats.deadTrimmed,
    };
  }
}

export class QueueListDto {
  @ApiProperty({ type: [QueueStatsDto] })
  queues!: QueueStatsDto[];
}
