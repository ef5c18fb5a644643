import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { PURGEABLE_STATUSES, PurgeableStatus, QueueStats } from '@app/queue';
import { ApiSchemaKeywords } from '../../openapi';
import { IsDefinedOrNull, IsPresent, Omittable } from '../../validation/decorators';

const RETAINED =
  'still retained: in Redis for RESULT_TTL_SECONDS (RESULTS_BACKEND=redis), or written to the PostgreSQL history and kept RESULTS_RETENTION_DAYS (postgres; a task waiting to be written, see results_pending, counts once it is). null only with postgres while PostgreSQL is unreachable';

export class QueueCountsDto {
  @ApiProperty({ type: 'integer' }) scheduled!: number;
  @ApiProperty({ type: 'integer' }) queued!: number;
  @ApiProperty({ type: 'integer' }) active!: number;
  @ApiProperty({ type: 'integer' }) retrying!: number;
  @ApiProperty({ type: 'integer', nullable: true, description: `Succeeded and ${RETAINED}` })
  succeeded!: number | null;
  @ApiProperty({ type: 'integer', description: 'In the dead-letter queue (either backend)' }) dead!: number;
  @ApiProperty({ type: 'integer', nullable: true, description: `Cancelled and ${RETAINED}` })
  cancelled!: number | null;
}

/** The finished counts of a queue that come from the PostgreSQL history, or null while it is unreachable. */
export type HistoryCounts = { succeeded: number; cancelled: number } | null;

/** The rate limit's rules (its schema is inlined in QueueLimitsDto). */
export class QueueRateLimitDto {
  @IsPresent()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max!: number;

  @IsPresent()
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  per_ms!: number;
}

/** A queue's limits, enforced across every worker by the claim script. */
@ApiSchemaKeywords({ additionalProperties: false })
export class QueueLimitsDto {
  // Inline rather than a $ref: OpenAPI 3.0 cannot make a referenced schema nullable.
  @ApiProperty({
    type: 'object',
    nullable: true,
    properties: {
      max: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'Task starts allowed per window' },
      per_ms: { type: 'integer', minimum: 1, maximum: 86_400_000, description: 'The sliding window, ms' },
    },
    required: ['max', 'per_ms'],
    additionalProperties: false,
    description: 'At most `max` task starts per `per_ms` window, across all workers; null: no rate limit',
  })
  @IsDefinedOrNull()
  @ValidateIf((_o, value) => value !== null)
  @ValidateNested()
  @Type(() => QueueRateLimitDto)
  rate!: QueueRateLimitDto | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: 100_000,
    description: 'At most this many tasks of the queue active at once, across all workers; null: no cap',
  })
  @IsDefinedOrNull()
  @ValidateIf((_o, value) => value !== null)
  @IsInt()
  @Min(1)
  @Max(100_000)
  concurrency!: number | null;
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

  @ApiProperty({
    type: 'integer',
    description: 'Waiting tasks purged (DELETE /queues/{name}/tasks): gone, with no record, counted here',
  })
  purged!: number;

  @ApiProperty({ description: 'Workers claim nothing from a paused queue; submits are still accepted' })
  paused!: boolean;

  @ApiProperty({ type: QueueLimitsDto })
  limits!: QueueLimitsDto;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      "When a worker last served the queue (each worker's recoverer marks its queues every RECOVERY_INTERVAL_MS); null when none ever did",
  })
  last_served_at!: string | null;

  @ApiProperty({
    description:
      'True while queued tasks have waited longer than QUEUE_UNSERVED_AFTER_MS and no worker served the queue within it: nothing consumes it (no worker lists it, or they are all gone). Its tasks are kept; the TaskqQueueUnserved alert fires',
  })
  unserved!: boolean;

  /** `history`: with RESULTS_BACKEND=postgres, the finished counts from there (null: unreachable). */
  static from(stats: QueueStats, history?: HistoryCounts, now = Date.now()): QueueStatsDto {
    const { rate, concurrency } = stats.controls;
    const counts: QueueCountsDto = { ...stats.counts };
    if (history !== undefined) {
      counts.succeeded = history?.succeeded ?? null;
      counts.cancelled = history?.cancelled ?? null;
    }
    return {
      queue: stats.queue,
      counts,
      oldest_queued_age_ms: stats.oldestQueuedAgeMs,
      last_served_at: stats.lastServedAgoMs === null ? null : new Date(now - stats.lastServedAgoMs).toISOString(),
      unserved: stats.unserved,
      dead_trimmed: stats.deadTrimmed,
      purged: stats.purged,
      paused: stats.controls.paused,
      limits: { rate: rate && { max: rate.max, per_ms: rate.perMs }, concurrency },
    };
  }
}

export class QueueListDto {
  @ApiProperty({ type: [QueueStatsDto] })
  queues!: QueueStatsDto[];
}

export class QueueMinuteDto {
  @ApiProperty({ format: 'date-time', description: 'Start of the minute' })
  minute!: string;

  @ApiProperty({ type: 'integer' }) succeeded!: number;
  @ApiProperty({ type: 'integer', description: 'Dead-lettered' }) dead!: number;
  @ApiProperty({ type: 'integer', description: 'Failed runs scheduled for a retry' }) retried!: number;
  @ApiProperty({ type: 'integer' }) cancelled!: number;
}

export class QueueHistoryDto {
  @ApiProperty({ example: 'default' })
  queue!: string;

  @ApiProperty({ type: [QueueMinuteDto], description: 'Oldest first, one entry per minute, zeros included' })
  minutes!: QueueMinuteDto[];
}

export class QueueHistoryQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 120, description: 'How many minutes back. Default: 60' })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(120)
  minutes?: number;
}

export class QueueTasksPurgeQueryDto {
  @ApiProperty({
    enum: PURGEABLE_STATUSES,
    description: 'The waiting state to purge (required: a purge is always explicit; active tasks are never purged)',
  })
  @IsPresent()
  @IsIn(PURGEABLE_STATUSES)
  status!: PurgeableStatus;
}
