import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { QUEUE_NAME_PATTERN, TASK_TYPE_PATTERN } from '@app/contracts';
import { DeadReason, DEAD_REASONS, REMOTE_CLAIM_LIMITS, REMOTE_WORKER_ID_PATTERN, RemoteClaimedTask } from '@app/queue';
import { ApiAnyJson } from '../../openapi';
import { IsPresent, Omittable } from '../../validation/decorators';

/** Most queues one claim may name (a worker serving more runs several). */
export const MAX_CLAIM_QUEUES = 32;
/** Most task types one claim may name. */
export const MAX_CLAIM_TASK_TYPES = 256;
/** Longest error message and stack a failing HTTP worker may report (the attempt history keeps 2000 chars). */
const ERROR_LIMITS = { message: 4096, stack: 16_384 } as const;

export class ClaimWorkDto {
  @ApiProperty({
    pattern: REMOTE_WORKER_ID_PATTERN.source,
    example: 'py-host-7:4121',
    description:
      'Names the worker in GET /workers and in the attempt history; keep it stable for the life of the process and unique among workers',
  })
  @IsPresent()
  @IsString()
  @Matches(REMOTE_WORKER_ID_PATTERN, {
    message: 'worker_id must be 1-128 characters of [A-Za-z0-9_.:@-], not starting with ":"',
  })
  worker_id!: string;

  @ApiProperty({
    type: 'array',
    items: { type: 'string', pattern: QUEUE_NAME_PATTERN.source },
    minItems: 1,
    maxItems: MAX_CLAIM_QUEUES,
    uniqueItems: true,
    example: ['py'],
    description: 'The queues to claim from, in order: a claim takes from the first until it is empty, then the next',
  })
  @IsPresent()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CLAIM_QUEUES)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(QUEUE_NAME_PATTERN, { each: true, message: 'each queue must be 1-64 characters of [a-z0-9_-]' })
  queues!: string[];

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', pattern: TASK_TYPE_PATTERN.source },
    minItems: 1,
    maxItems: MAX_CLAIM_TASK_TYPES,
    uniqueItems: true,
    example: ['py.upper'],
    description:
      'The task types this worker handles. A claimed task of another type is dead-lettered unknown_task_type, as a native ' +
      'worker does with a type it has no handler for: give each kind of worker queues of its own. Left out: every type.',
  })
  @Omittable()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CLAIM_TASK_TYPES)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(TASK_TYPE_PATTERN, { each: true, message: 'each task type must be 1-128 characters of [A-Za-z0-9_.:-]' })
  task_types?: string[];

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: REMOTE_CLAIM_LIMITS.maxTasks,
    default: 1,
    description: 'Most tasks to take (the free slots of the worker)',
  })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(REMOTE_CLAIM_LIMITS.maxTasks)
  max?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: REMOTE_CLAIM_LIMITS.maxWaitMs,
    default: 0,
    description: 'Long-poll: with no task there, wait up to this long for one (answering as soon as one is claimed)',
  })
  @Omittable()
  @IsInt()
  @Min(0)
  @Max(REMOTE_CLAIM_LIMITS.maxWaitMs)
  wait_ms?: number;
}

export class WorkTaskDto {
  @ApiProperty({ example: 'py.k3x9q2m1a21' })
  task_id!: string;

  @ApiProperty({ example: 'py.upper' })
  task_type!: string;

  @ApiProperty({ example: 'py' })
  queue!: string;

  @ApiAnyJson({ example: { text: 'hello' }, description: 'The payload as submitted' })
  payload!: unknown;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'This run: 1 for the first' })
  attempt!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Retries after the first run; a failure of run max_retries + 1 is dead',
  })
  max_retries!: number;

  @ApiProperty({
    description:
      "Fences this run: send it with every heartbeat, complete and fail. A call with another run's token (this one's lease expired and the task was recovered) gets 409 and writes nothing",
  })
  lease_token!: string;

  @ApiProperty({
    format: 'date-time',
    description: 'The lease ends then unless a heartbeat extends it; after that the task is recovered and runs again',
  })
  lease_expires_at!: string;

  @ApiProperty({
    type: 'integer',
    description:
      'Longest the run may take; a heartbeat after that ends the run as timed out (retried, or dead-lettered timeout on its last attempt)',
  })
  timeout_ms!: number;

  static from(task: RemoteClaimedTask): WorkTaskDto {
    return {
      task_id: task.id,
      task_type: task.type,
      queue: task.queue,
      payload: JSON.parse(task.payloadJson) as unknown,
      attempt: task.attempt,
      max_retries: task.maxRetries,
      lease_token: task.leaseToken,
      lease_expires_at: new Date(task.leaseExpiresAt).toISOString(),
      timeout_ms: task.timeoutMs,
    };
  }
}

export class ClaimedWorkDto {
  @ApiProperty({ type: [WorkTaskDto], description: 'Empty when no task came within wait_ms' })
  tasks!: WorkTaskDto[];
}

export class LeaseTokenDto {
  @ApiProperty({ description: 'The lease_token of the claim' })
  @IsPresent()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  lease_token!: string;
}

export class HeartbeatDto extends LeaseTokenDto {
  @ApiAnyJson({
    required: false,
    example: 40,
    description: 'How far the run has come (accepted and not stored yet: reserved for task progress)',
  })
  @Allow()
  progress?: unknown;
}

export class HeartbeatAnswerDto {
  @ApiProperty()
  task_id!: string;

  @ApiProperty({ format: 'date-time', description: 'The lease now ends then' })
  lease_expires_at!: string;
}

export class CompleteWorkDto extends LeaseTokenDto {
  @ApiAnyJson({
    required: false,
    example: { upper: 'HELLO' },
    description:
      "The run's result, any JSON (left out: null); over MAX_RESULT_BYTES the task is dead-lettered result_too_large",
  })
  @Allow()
  result?: unknown;
}

export class WorkErrorDto {
  @ApiProperty({
    maxLength: ERROR_LIMITS.message,
    example: 'ValueError: text is empty',
    description: 'Shown as last_error',
  })
  @IsPresent()
  @IsString()
  @MinLength(1)
  @MaxLength(ERROR_LIMITS.message)
  message!: string;

  @ApiPropertyOptional({ maxLength: ERROR_LIMITS.stack, description: "Kept in the run's entry of the attempt history" })
  @Omittable()
  @IsString()
  @MaxLength(ERROR_LIMITS.stack)
  stack?: string;
}

export class FailWorkDto extends LeaseTokenDto {
  @ApiProperty({ type: WorkErrorDto })
  @IsPresent()
  @IsObject()
  @ValidateNested()
  @Type(() => WorkErrorDto)
  error!: WorkErrorDto;

  @ApiPropertyOptional({
    default: true,
    description:
      'false: no retry can mend it (dead-lettered non_retryable at once); true: retried after the backoff while attempts remain',
  })
  @Omittable()
  @IsBoolean()
  retryable?: boolean;
}

export class WorkOutcomeDto {
  @ApiProperty()
  task_id!: string;

  @ApiProperty({ enum: ['succeeded', 'retrying', 'dead'] })
  status!: 'succeeded' | 'retrying' | 'dead';

  @ApiPropertyOptional({ format: 'date-time', description: 'retrying only: when the next run is due' })
  next_run_at?: string;

  @ApiPropertyOptional({ enum: DEAD_REASONS, description: 'dead only: why' })
  dead_reason?: DeadReason;
}
