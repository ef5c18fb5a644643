import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import { API_KEY_ID_PATTERN, API_KEY_NAME_PATTERN, ApiKeyRecord, SCOPES, Scope } from '@app/auth';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { ApiSchemaKeywords } from '../../openapi';
import { IsPresent, Omittable } from '../../validation/decorators';

/** Most queues one key may be restricted to. */
export const MAX_KEY_QUEUES = 100;
/** The largest page of GET /auth/keys. */
export const MAX_KEY_PAGE = 500;

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
    description: 'submit: POST /submit*, cancel; read: GET tasks, queues, DLQ; admin: everything',
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

  static from(record: ApiKeyRecord): ApiKeyDto {
    return {
      id: record.id,
      name: record.name,
      scopes: record.scopes,
      queues: record.queues,
      created_at: new Date(record.createdAt).toISOString(),
    };
  }
}

export class CreatedApiKeyDto extends ApiKeyDto {
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
