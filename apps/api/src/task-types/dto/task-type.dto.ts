import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsObject, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { BACKOFF_LIMITS, QUEUE_NAME_PATTERN, TaskContractRegistry } from '@app/contracts';
import type { StoredTaskType } from '@app/queue';
import { JSON_SCHEMA_2020_12, RuntimeTaskTypes, TASK_TYPE_SCHEMA_LIMITS } from '@app/task-types';
import { ApiAnyJson, ApiSchemaKeywords } from '../../openapi';
import { IsPresent, Omittable } from '../../validation/decorators';
import { SUBMIT_LIMITS } from '../../submit/dto/submit-task.dto';

/** At most this long, a runtime type's description. */
const DESCRIPTION_MAX = 1000;

/** A runtime type's retry curve: exponential with full jitter, as every type's default, from base_ms up to max_ms. */
@ApiSchemaKeywords({ additionalProperties: false })
export class TaskTypeBackoffDto {
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
    description: 'Caps every delay. Default: 3600000 (1 hour)',
  })
  @Omittable()
  @IsInt()
  @Min(BACKOFF_LIMITS.maxMs.min)
  @Max(BACKOFF_LIMITS.maxMs.max)
  max_ms?: number;
}

/** PUT /task-types/{name}: a task type defined at run time. */
@ApiSchemaKeywords({ additionalProperties: false })
export class PutTaskTypeDto {
  @ApiAnyJson({
    description: `A JSON Schema (2020-12) for the payload: an object or a boolean, at most ${TASK_TYPE_SCHEMA_LIMITS.maxBytes} bytes serialized and ${TASK_TYPE_SCHEMA_LIMITS.maxDepth} levels deep, references only within itself (#/$defs/…), no $id; $schema, when given, ${JSON_SCHEMA_2020_12}. Unknown keywords and formats are refused`,
    example: {
      type: 'object',
      properties: { text: { type: 'string', maxLength: 1000 } },
      required: ['text'],
      additionalProperties: false,
    },
  })
  @IsPresent()
  payload_schema!: unknown;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: SUBMIT_LIMITS.maxRetries.min,
    maximum: SUBMIT_LIMITS.maxRetries.max,
    description: "Default: the deployment's DEFAULT_MAX_RETRIES",
  })
  @Omittable()
  @IsInt()
  @Min(SUBMIT_LIMITS.maxRetries.min)
  @Max(SUBMIT_LIMITS.maxRetries.max)
  max_retries?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: SUBMIT_LIMITS.timeoutMs.min,
    maximum: SUBMIT_LIMITS.timeoutMs.max,
    description: "Default: the deployment's DEFAULT_TIMEOUT_MS",
  })
  @Omittable()
  @IsInt()
  @Min(SUBMIT_LIMITS.timeoutMs.min)
  @Max(SUBMIT_LIMITS.timeoutMs.max)
  timeout_ms?: number;

  @ApiPropertyOptional({ type: TaskTypeBackoffDto })
  @Omittable()
  @IsObject()
  @ValidateNested()
  @Type(() => TaskTypeBackoffDto)
  backoff?: TaskTypeBackoffDto;

  @ApiPropertyOptional({
    pattern: QUEUE_NAME_PATTERN.source,
    description: 'The queue its tasks go to when a submit names none. Default: default',
  })
  @Omittable()
  @IsString()
  @Matches(QUEUE_NAME_PATTERN, { message: 'queue must be 1-64 characters of [a-z0-9_-]' })
  queue?: string;

  @ApiPropertyOptional({ maxLength: DESCRIPTION_MAX })
  @Omittable()
  @IsString()
  @MaxLength(DESCRIPTION_MAX)
  description?: string;
}

export class TaskTypeBackoffViewDto {
  @ApiProperty({ type: 'integer' })
  base_ms!: number;

  @ApiProperty({ type: 'integer' })
  max_ms!: number;
}

export class TaskTypeDto {
  @ApiProperty({ example: 'py.upper' })
  name!: string;

  @ApiProperty({
    enum: ['code', 'runtime'],
    description: 'code: a contract of this build (payload checked by its class); runtime: PUT /task-types/{name}',
  })
  source!: 'code' | 'runtime';

  @ApiProperty()
  description!: string;

  @ApiAnyJson({ description: 'The payload schema (runtime types only)', required: false })
  payload_schema?: unknown;

  @ApiProperty({ type: 'integer', description: "The type's, else the deployment's default" })
  max_retries!: number;

  @ApiProperty({ type: 'integer', description: "The type's, else the deployment's default" })
  timeout_ms!: number;

  @ApiPropertyOptional({
    type: TaskTypeBackoffViewDto,
    description: "The type's own retry curve (exponential, full jitter); absent: the workers' RETRY_BACKOFF_* apply",
  })
  backoff?: TaskTypeBackoffViewDto;

  @ApiProperty({ example: 'default', description: 'Where its tasks go when a submit names no queue' })
  queue!: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Runtime types only' })
  created_at?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Runtime types only' })
  updated_at?: string;

  /** One type as this replica accepts it. */
  static of(name: string, registry: TaskContractRegistry, stored?: StoredTaskType): TaskTypeDto {
    const contract = registry.get(name);
    const settings = registry.settingsFor(name);
    const source = registry.sourceOf(name) ?? 'runtime';
    return {
      name,
      source,
      description: contract?.description ?? stored?.description ?? '',
      ...(source === 'runtime' && stored ? { payload_schema: stored.payload_schema } : {}),
      max_retries: settings.maxRetries,
      timeout_ms: settings.timeoutMs,
      ...(contract?.defaults?.backoff
        ? { backoff: { base_ms: settings.backoff.baseMs, max_ms: settings.backoff.maxMs } }
        : {}),
      queue: contract?.queue ?? stored?.queue ?? 'default',
      ...(stored
        ? {
            created_at: new Date(stored.created_at).toISOString(),
            updated_at: new Date(stored.updated_at).toISOString(),
          }
        : {}),
    };
  }
}

export class TaskTypeListDto {
  @ApiProperty({
    type: [TaskTypeDto],
    description: 'Types defined in code first, then those defined at run time, by name',
  })
  task_types!: TaskTypeDto[];
}

/** Every type this replica accepts: those defined in code, then those defined at run time (by name). */
export function taskTypeList(registry: TaskContractRegistry, runtime: RuntimeTaskTypes): TaskTypeDto[] {
  const code = registry.codeTypes().map((name) => TaskTypeDto.of(name, registry));
  const defined = runtime
    .list()
    .filter((stored) => registry.sourceOf(stored.name) === 'runtime')
    .map((stored) => TaskTypeDto.of(stored.name, registry, stored));
  return [...code, ...defined];
}
