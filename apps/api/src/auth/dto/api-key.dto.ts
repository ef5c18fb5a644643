import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  API_KEY_ID_PATTERN,
  API_KEY_NAME_PATTERN,
  ApiKeyLimitsChange,
  ApiKeyRecord,
  LIMIT_BOUNDS,
  quotaToWire,
  rateLimitToWire,
  SCOPES,
  Scope,
} from '@app/auth';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { ApiInlineObject, ApiSchemaKeywords } from '../../openapi';
import { IsPresent, Omittable } from '../../validation/decorators';

/** Most queues one key may be restricted to. */
export const MAX_KEY_QUEUES = 100;
/** The largest page of GET /auth/keys. */
export const MAX_KEY_PAGE = 500;

const { rateMax, ratePerMs, quotaTasks, quotaPayloadBytes, quotaPerSeconds } = LIMIT_BOUNDS;
const integer = (bounds: { min: number; max: number }, description: string) => ({
  type: 'integer' as const,
  minimum: bounds.min,
  maximum: bounds.max,
  description,
});

/** A key's own rate limit in a request body (its schema is inlined where it is used: it is nullable). */
export class KeyRateLimitDto {
  @IsPresent()
  @IsInt()
  @Min(rateMax.min)
  @Max(rateMax.max)
  max!: number;

  @IsPresent()
  @IsInt()
  @Min(ratePerMs.min)
  @Max(ratePerMs.max)
  per_ms!: number;
}

/** A key's own quota in a request body: tasks, payload bytes or both per window. */
export class KeyQuotaDto {
  // Required only when payload_bytes is left out: a quota counts one of them at least.
  @ValidateIf((quota: KeyQuotaDto, value) => value !== undefined || quota.payload_bytes === undefined)
  @IsPresent({ message: '$property or payload_bytes is required: a quota counts tasks, payload bytes or both' })
  @IsInt()
  @Min(quotaTasks.min)
  @Max(quotaTasks.max)
  tasks?: number;

  @Omittable()
  @IsInt()
  @Min(quotaPayloadBytes.min)
  @Max(quotaPayloadBytes.max)
  payload_bytes?: number;

  @IsPresent()
  @IsInt()
  @Min(quotaPerSeconds.min)
  @Max(quotaPerSeconds.max)
  per_seconds!: number;
}

const RATE_LIMIT_PROPERTIES = {
  max: integer(rateMax, 'Requests allowed per window'),
  per_ms: integer(ratePerMs, 'The fixed window, ms'),
};
const QUOTA_PROPERTIES = {
  tasks: integer(quotaTasks, 'Tasks per window'),
  payload_bytes: integer(quotaPayloadBytes, 'Serialized payload bytes per window'),
  per_seconds: integer(quotaPerSeconds, 'The window, seconds; it opens with the first submit counted'),
};

/**
 * `rate_limit` and `quota` of a request body. `absent` says what leaving one out means (POST: none of
 * its own; PATCH: unchanged); null always removes the key's own, so the environment's default applies.
 */
function KeyLimitFields(kind: 'rate_limit' | 'quota', absent: string): PropertyDecorator {
  const schema =
    kind === 'rate_limit'
      ? {
          properties: RATE_LIMIT_PROPERTIES,
          required: ['max', 'per_ms'],
          description: `The key's own rate limit: at most max requests per fixed window of per_ms, counted across every api replica. ${absent} RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS applies`,
        }
      : {
          properties: QUOTA_PROPERTIES,
          required: ['per_seconds'],
          // per_seconds and at least one of tasks and payload_bytes.
          minProperties: 2,
          description: `The key's own quota: tasks and/or serialized payload bytes it may submit per window of per_seconds (a count left out is not limited). ${absent} QUOTA_TASKS and QUOTA_PAYLOAD_BYTES per QUOTA_WINDOW_SECONDS apply`,
        };
  return applyDecorators(
    ApiInlineObject({ type: 'object', nullable: true, additionalProperties: false, ...schema }, { required: false }),
    Omittable(),
    ValidateIf((_o, value) => value !== null),
    IsObject(),
    ValidateNested(),
    Type(() => (kind === 'rate_limit' ? KeyRateLimitDto : KeyQuotaDto)),
  );
}

/** A key's `rate_limit` in an answer: always there, null when it has none of its own. */
const KeyRateLimitAnswer = () =>
  ApiInlineObject(
    {
      type: 'object',
      nullable: true,
      properties: RATE_LIMIT_PROPERTIES,
      required: ['max', 'per_ms'],
      additionalProperties: false,
      description: 'Its own rate limit; null: RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS',
    },
    { required: true },
  );

/** A key's `quota` in an answer: always there, null when it has none of its own; a count it does not limit is null. */
const KeyQuotaAnswer = () =>
  ApiInlineObject(
    {
      type: 'object',
      nullable: true,
      properties: {
        tasks: { ...QUOTA_PROPERTIES.tasks, nullable: true, description: 'Tasks per window; null: not limited' },
        payload_bytes: {
          ...QUOTA_PROPERTIES.payload_bytes,
          nullable: true,
          description: 'Serialized payload bytes per window; null: not limited',
        },
        per_seconds: QUOTA_PROPERTIES.per_seconds,
      },
      required: ['tasks', 'payload_bytes', 'per_seconds'],
      additionalProperties: false,
      description: 'Its own quota; null: QUOTA_TASKS and QUOTA_PAYLOAD_BYTES per QUOTA_WINDOW_SECONDS',
    },
    { required: true },
  );

/** The limits of a validated body as a change of a key's limits: left out stays undefined, null stays null. */
export function limitsChangeOf(body: {
  rate_limit?: KeyRateLimitDto | null;
  quota?: KeyQuotaDto | null;
}): ApiKeyLimitsChange {
  const { rate_limit: rate, quota } = body;
  return {
    rateLimit: rate && { max: rate.max, perMs: rate.per_ms },
    quota: quota && {
      tasks: quota.tasks ?? null,
      payloadBytes: quota.payload_bytes ?? null,
      perSeconds: quota.per_seconds,
    },
  };
}

@ApiSchemaKeywords({ additionalProperties: false })
export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci', pattern: API_KEY_NAME_PATTERN.source, description: 'What listings call it' })
  @IsPresent()
  @IsString()
  @Matches(API_KEY_NAME_PATTERN, {
    message: 'name must be 1-64 characters of [A-Za-z0-9 _.:@/-], starting with a letter or digit',
  })
  name!: string;

  @ApiProperty({
    type: 'array',
    items: { type: 'string', enum: [...SCOPES] },
    minItems: 1,
    maxItems: SCOPES.length,
    uniqueItems: true,
    example: ['submit', 'read'],
    description:
      'submit: POST /submit*, cancel; read: GET tasks, queues, DLQ; work: the HTTP worker protocol (/work/*); admin: everything',
  })
  @IsPresent()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', pattern: QUEUE_NAME_PATTERN.source },
    minItems: 1,
    maxItems: MAX_KEY_QUEUES,
    uniqueItems: true,
    nullable: true,
    example: ['emails'],
    description: 'The only queues the key may see and use; left out or null: every queue',
  })
  @Omittable()
  @ValidateIf((_o, value) => value !== null)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_KEY_QUEUES)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(QUEUE_NAME_PATTERN, { each: true, message: 'each queue must be 1-64 characters of [a-z0-9_-]' })
  queues?: string[] | null;

  @KeyLimitFields('rate_limit', 'Left out or null: none of its own, so')
  rate_limit?: KeyRateLimitDto | null;

  @KeyLimitFields('quota', 'Left out or null: none of its own, so')
  quota?: KeyQuotaDto | null;
}

/** PATCH /auth/keys/{id}: a key's own limits; a field left out is kept. */
@ApiSchemaKeywords({ additionalProperties: false, minProperties: 1 })
export class UpdateApiKeyDto {
  @KeyLimitFields('rate_limit', "Left out: unchanged. null: the key's own is removed, so")
  rate_limit?: KeyRateLimitDto | null;

  @KeyLimitFields('quota', "Left out: unchanged. null: the key's own is removed, so")
  quota?: KeyQuotaDto | null;
}

export class ApiKeyDto {
  @ApiProperty({ example: '3f2a9c0d41be', pattern: API_KEY_ID_PATTERN.source })
  id!: string;

  @ApiProperty({ example: 'ci' })
  name!: string;

  @ApiProperty({ type: 'array', items: { type: 'string', enum: [...SCOPES] } })
  scopes!: Scope[];

  @ApiProperty({ type: [String], nullable: true, description: 'null: every queue' })
  queues!: string[] | null;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @KeyRateLimitAnswer()
  rate_limit!: { max: number; per_ms: number } | null;

  @KeyQuotaAnswer()
  quota!: { tasks: number | null; payload_bytes: number | null; per_seconds: number } | null;

  static from(record: ApiKeyRecord): ApiKeyDto {
    return {
      id: record.id,
      name: record.name,
      scopes: record.scopes,
      queues: record.queues,
      created_at: new Date(record.createdAt).toISOString(),
      rate_limit: record.rateLimit && rateLimitToWire(record.rateLimit),
      quota: record.quota && quotaToWire(record.quota),
    };
  }
}

export class CreatedApiKeyDto extends ApiKeyDto {
  // Stated again: an inline object's schema is placed by class name, and a subclass has a schema of its own.
  @KeyRateLimitAnswer()
  declare rate_limit: ApiKeyDto['rate_limit'];

  @KeyQuotaAnswer()
  declare quota: ApiKeyDto['quota'];

  @ApiProperty({
    example: 'tq_3f2a9c0d41be_9b1c…',
    description: 'The key, shown this once: keep it secret. Send it as Authorization: Bearer <key> or X-API-Key: <key>',
  })
  key!: string;
}

export class ApiKeyListQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_KEY_PAGE, description: 'Page size. Default: 100' })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_KEY_PAGE)
  limit?: number;

  @ApiPropertyOptional({ pattern: API_KEY_ID_PATTERN.source, description: 'The next_cursor of the previous page' })
  @Omittable()
  @IsString()
  @Matches(API_KEY_ID_PATTERN, { message: 'cursor must be a next_cursor value from a previous page' })
  cursor?: string;
}

export class ApiKeyPageDto {
  @ApiProperty({ type: [ApiKeyDto], description: 'Live keys in id order (revoked keys are gone); never their secrets' })
  keys!: ApiKeyDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: API_KEY_ID_PATTERN.source,
    description: 'null on the last page',
  })
  next_cursor!: string | null;
}
