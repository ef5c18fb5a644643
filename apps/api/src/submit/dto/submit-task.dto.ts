import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidationOptions,
} from 'class-validator';
import { ANY_JSON } from '../../openapi';
import { MAX_PRIORITY, MIN_PRIORITY, QUEUE_NAME_PATTERN, TASK_TYPE_PATTERN } from '@app/contracts';

/** Required, but any JSON value (null included) is fine. */
function IsPresent(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isPresent',
      validator: { validate: (value) => value !== undefined, defaultMessage: () => '$property is required' },
    },
    options,
  );
}

/** delay_ms and run_at say the same thing two ways; one at most. */
function NotWith(other: string, options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'notWith',
      constraints: [other],
      validator: {
        validate: (_value, args) => (args?.object as Record<string, unknown>)[other] === undefined,
        defaultMessage: () => `$property cannot be combined with ${other}; give one of them`,
      },
    },
    options,
  );
}

/** Numeric ranges of a submission, shared by the DTO's rules and the fast path in submit-body.pipe.ts. */
export const SUBMIT_LIMITS = {
  priority: { min: MIN_PRIORITY, max: MAX_PRIORITY },
  maxRetries: { min: 0, max: 100 },
  delayMs: { min: 0, max: 31_536_000_000 },
  timeoutMs: { min: 1, max: 86_400_000 },
} as const;

export class SubmitTaskDto {
  @ApiProperty({ example: 'email', pattern: TASK_TYPE_PATTERN.source, description: 'A registered task type' })
  @IsString()
  @Matches(TASK_TYPE_PATTERN, { message: 'task_type must be 1-128 characters of [A-Za-z0-9_.:-]' })
  task_type!: string;

  @ApiProperty({
    ...ANY_JSON,
    example: 'hello@domain.com',
    description: "Any JSON value, checked against the task type's contract; at most MAX_PAYLOAD_BYTES serialized",
  })
  @IsPresent()
  payload!: unknown;

  @ApiPropertyOptional({ example: 'default', default: 'default', pattern: QUEUE_NAME_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: 'queue must be 1-64 characters of [a-z0-9_-]' })
  queue?: string;

  @ApiPropertyOptional({
    minimum: SUBMIT_LIMITS.priority.min,
    maximum: SUBMIT_LIMITS.priority.max,
    default: 0,
    description: 'Higher runs first; FIFO within a priority',
  })
  @IsOptional()
  @IsInt()
  @Min(SUBMIT_LIMITS.priority.min)
  @Max(SUBMIT_LIMITS.priority.max)
  priority?: number;

  @ApiPropertyOptional({
    minimum: SUBMIT_LIMITS.maxRetries.min,
    maximum: SUBMIT_LIMITS.maxRetries.max,
    description: "Retries after the first run; default: the task type's, else DEFAULT_MAX_RETRIES",
  })
  @IsOptional()
  @IsInt()
  @Min(SUBMIT_LIMITS.maxRetries.min)
  @Max(SUBMIT_LIMITS.maxRetries.max)
  max_retries?: number;

  @ApiPropertyOptional({
    minimum: SUBMIT_LIMITS.delayMs.min,
    maximum: SUBMIT_LIMITS.delayMs.max,
    description: 'Run after this many ms (not with run_at)',
  })
  @IsOptional()
  @IsInt()
  @Min(SUBMIT_LIMITS.delayMs.min)
  @Max(SUBMIT_LIMITS.delayMs.max)
  @NotWith('run_at')
  delay_ms?: number;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2030-01-01T09:00:00Z',
    description: 'Run at this time (not with delay_ms)',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'run_at must be an ISO-8601 date-time, e.g. 2030-01-01T09:00:00Z' })
  run_at?: string;

  @ApiPropertyOptional({
    minimum: SUBMIT_LIMITS.timeoutMs.min,
    maximum: SUBMIT_LIMITS.timeoutMs.max,
    description: "Abort a run after this many ms; default: the task type's, else DEFAULT_TIMEOUT_MS",
  })
  @IsOptional()
  @IsInt()
  @Min(SUBMIT_LIMITS.timeoutMs.min)
  @Max(SUBMIT_LIMITS.timeoutMs.max)
  timeout_ms?: number;
}
