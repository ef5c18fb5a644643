import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import {
  BACKOFF_LIMITS,
  BACKOFF_TYPES,
  MAX_PRIORITY,
  MIN_PRIORITY,
  QUEUE_NAME_PATTERN,
  TASK_TYPE_PATTERN,
} from '@app/contracts';
import { ApiAnyJson, ApiSchemaKeywords } from '../../openapi';
import { IsPresent, IsRfc3339DateTime, Omittable, RFC3339_DATE_TIME } from '../../validation/decorators';

/** Not together with `other` (delay_ms and run_at say the same thing two ways; one at most). */
export function NotWith(other: string, options?: ValidationOptions) {
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

/** Only together with `other` (a unique_key says what is unique; unique_for_ms for how long). */
export function Needs(other: string, options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'needs',
      constraints: [other],
      validator: {
        validate: (_value, args) => (args?.object as Record<string, unknown>)[other] !== undefined,
        defaultMessage: () => `$property needs ${other}`,
      },
    },
    options,
  );
}

/** Numeric ranges of a submission, used by the DTO's rules and its OpenAPI schema. */
export const SUBMIT_LIMITS = {
  priority: { min: MIN_PRIORITY, max: MAX_PRIORITY },
  maxRetries: { min: 0, max: 100 },
  delayMs: { min: 0, max: 31_536_000_000 },
  timeoutMs: { min: 1, max: 86_400_000 },
  uniqueForMs: { min: 1, max: 604_800_000 },
} as const;

/** An idempotency key: what clients use (UUIDs, base64 tokens, `order-42`), no spaces, at most 255 chars. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:=+/-]{1,255}$/;
/** A unique key is a caller's key like an idempotency key, and takes the same characters. */
export const UNIQUE_KEY_PATTERN = IDEMPOTENCY_KEY_PATTERN;

/** A retry curve of the task's own: fixed or exponential, optionally capped and jittered. */
@ApiSchemaKeywords({ additionalProperties: false })
export class BackoffCurveDto {
  @ApiProperty({
    enum: BACKOFF_TYPES,
    description: 'fixed: every retry waits base_ms; exponential: the n-th retry waits base_ms * 2^(n-1)',
  })
  @IsPresent()
  @IsIn(BACKOFF_TYPES)
  type!: (typeof BACKOFF_TYPES)[number];

  @ApiProperty({ type: 'integer', minimum: BACKOFF_LIMITS.baseMs.min, maximum: BACKOFF_LIMITS.baseMs.max })
  @IsPresent()
  @IsInt()
  @Min(BACKOFF_LIMITS.baseMs.min)
  @Max(BACKOFF_LIMITS.baseMs.max)
  base_ms!: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: BACKOFF_LIMITS.maxMs.min,
    maximum: BACKOFF_LIMITS.maxMs.max,
    description: `Caps every delay; at least base_ms. Default: ${BACKOFF_LIMITS.maxMs.max} (7 days)`,
  })
  @Omittable()
  @IsInt()
  @Min(BACKOFF_LIMITS.maxMs.min)
  @Max(BACKOFF_LIMITS.maxMs.max)
  max_ms?: number;

  @ApiPropertyOptional({
    type: Boolean,
    description: 'Full jitter: each delay drawn uniformly from [0, delay]. Default: false',
  })
  @Omittable()
  @IsBoolean()
  jitter?: boolean;
}

/** A retry schedule of the task's own: the n-th retry waits delays_ms[n-1], the last one repeats. */
@ApiSchemaKeywords({ additionalProperties: false })
export class BackoffScheduleDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'integer', minimum: BACKOFF_LIMITS.delayMs.min, maximum: BACKOFF_LIMITS.delayMs.max },
    minItems: BACKOFF_LIMITS.delays.min,
    maxItems: BACKOFF_LIMITS.delays.max,
    example: [1000, 5000, 30000],
    description: 'The n-th retry waits the n-th delay (ms); retries past the end wait the last one',
  })
  @IsPresent()
  @IsArray()
  @ArrayMinSize(BACKOFF_LIMITS.delays.min)
  @ArrayMaxSize(BACKOFF_LIMITS.delays.max)
  @IsInt({ each: true })
  @Min(BACKOFF_LIMITS.delayMs.min, { each: true })
  @Max(BACKOFF_LIMITS.delayMs.max, { each: true })
  delays_ms!: number[];
}

/** A schedule when the object has delays_ms, else a curve: class-validator then names the broken field. */
const backoffClass = (value: unknown) =>
  typeof value === 'object' && value !== null && 'delays_ms' in value ? BackoffScheduleDto : BackoffCurveDto;

/**
 * One submission. Each rule is stated twice, side by side: as class-validator decorators (which
 * name the field and rule of a bad body) and in the OpenAPI schema (which the api compiles into
 * its fast check, and clients read). The submit property test fails when the two part ways.
 * Optional fields may be left out, not set to null. No `default` keywords: generated clients would
 * make those fields required; defaults are in the descriptions.
 */
@ApiSchemaKeywords({
  additionalProperties: false,
  // Neither delay_ms with run_at, nor unique_key without unique_for_ms. (One `not`, which generated
  // clients ignore; the empty property schemas only name what `required` refers to: Redocly asks for that.)
  not: {
    anyOf: [
      { properties: { delay_ms: {}, run_at: {} }, required: ['delay_ms', 'run_at'] },
      {
        properties: { unique_key: {} },
        required: ['unique_key'],
        not: { properties: { unique_for_ms: {} }, required: ['unique_for_ms'] },
      },
    ],
  },
})
@ApiExtraModels(BackoffCurveDto, BackoffScheduleDto)
export class SubmitTaskDto {
  @ApiProperty({ example: 'email', pattern: TASK_TYPE_PATTERN.source, description: 'A registered task type' })
  @IsPresent()
  @IsString()
  @Matches(TASK_TYPE_PATTERN, { message: 'task_type must be 1-128 characters of [A-Za-z0-9_.:-]' })
  task_type!: string;

  @ApiAnyJson({
    example: 'hello@domain.com',
    description:
      "Any JSON value (null too), checked against the task type's contract; at most MAX_PAYLOAD_BYTES serialized",
  })
  @IsPresent()
  payload!: unknown;

  @ApiPropertyOptional({ example: 'default', pattern: QUEUE_NAME_PATTERN.source, description: 'Default: default' })
  @Omittable()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: 'queue must be 1-64 characters of [a-z0-9_-]' })
  queue?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: SUBMIT_LIMITS.priority.min,
    maximum: SUBMIT_LIMITS.priority.max,
    description: 'Higher runs first; FIFO within a priority. Default: 0',
  })
  @Omittable()
  @IsInt()
  @Min(SUBMIT_LIMITS.priority.min)
  @Max(SUBMIT_LIMITS.priority.max)
  priority?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: SUBMIT_LIMITS.maxRetries.min,
    maximum: SUBMIT_LIMITS.maxRetries.max,
    description: "Retries after the first run. Default: the task type's, else DEFAULT_MAX_RETRIES",
  })
  @Omittable()
  @IsInt()
  @Min(SUBMIT_LIMITS.maxRetries.min)
  @Max(SUBMIT_LIMITS.maxRetries.max)
  max_retries?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: SUBMIT_LIMITS.delayMs.min,
    maximum: SUBMIT_LIMITS.delayMs.max,
    description: 'Run after this many ms (not with run_at)',
  })
  @Omittable()
  @IsInt()
  @Min(SUBMIT_LIMITS.delayMs.min)
  @Max(SUBMIT_LIMITS.delayMs.max)
  @NotWith('run_at')
  delay_ms?: number;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    pattern: RFC3339_DATE_TIME.source,
    example: '2030-01-01T09:00:00Z',
    description:
      'Run at this time (not with delay_ms): an RFC 3339 date-time with a time zone (Z or ±hh:mm), at most ' +
      `${SUBMIT_LIMITS.delayMs.max} ms (365 days) ahead; a past time runs at once`,
  })
  @Omittable()
  @IsRfc3339DateTime()
  run_at?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: SUBMIT_LIMITS.timeoutMs.min,
    maximum: SUBMIT_LIMITS.timeoutMs.max,
    description: "Abort a run after this many ms. Default: the task type's, else DEFAULT_TIMEOUT_MS",
  })
  @Omittable()
  @IsInt()
  @Min(SUBMIT_LIMITS.timeoutMs.min)
  @Max(SUBMIT_LIMITS.timeoutMs.max)
  timeout_ms?: number;

  @ApiPropertyOptional({
    pattern: IDEMPOTENCY_KEY_PATTERN.source,
    example: 'order-42-confirmation',
    description:
      'Submit this task at most once per key (in its queue) within IDEMPOTENCY_TTL_SECONDS: the same key with the ' +
      'same task answers the original task (200, Idempotent-Replayed: true), with another task 409. On POST /submit ' +
      'the Idempotency-Key header says the same (give one of them, or both equal)',
  })
  @Omittable()
  @IsString()
  @Matches(IDEMPOTENCY_KEY_PATTERN, {
    message: 'idempotency_key must be 1-255 characters of [A-Za-z0-9_.:=+/-]',
  })
  idempotency_key?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: SUBMIT_LIMITS.uniqueForMs.min,
    maximum: SUBMIT_LIMITS.uniqueForMs.max,
    description:
      'Refuse (409, naming it) while an equal task in this queue is unfinished, for at most this many ms: one ' +
      'of the same type and payload, or with unique_key, one with the same unique_key',
  })
  @Omittable()
  @IsInt()
  @Min(SUBMIT_LIMITS.uniqueForMs.min)
  @Max(SUBMIT_LIMITS.uniqueForMs.max)
  unique_for_ms?: number;

  @ApiPropertyOptional({
    pattern: UNIQUE_KEY_PATTERN.source,
    example: 'invoice-1234',
    description:
      'Only with unique_for_ms: tasks are equal when they have the same unique_key in the queue, whatever their ' +
      'type and payload',
  })
  @Omittable()
  @IsString()
  @Matches(UNIQUE_KEY_PATTERN, { message: 'unique_key must be 1-255 characters of [A-Za-z0-9_.:=+/-]' })
  @Needs('unique_for_ms', { message: 'unique_key needs unique_for_ms: how long the key is held' })
  unique_key?: string;

  @ApiPropertyOptional({
    oneOf: [{ $ref: getSchemaPath(BackoffCurveDto) }, { $ref: getSchemaPath(BackoffScheduleDto) }],
    description:
      "The task's own retry backoff, instead of its type's: a curve {type, base_ms, max_ms?, jitter?} or a " +
      'schedule {delays_ms}',
  })
  @Omittable()
  @IsObject()
  @ValidateNested()
  @Type((options) => backoffClass((options?.object as Record<string, unknown> | undefined)?.backoff))
  backoff?: BackoffCurveDto | BackoffScheduleDto;
}
