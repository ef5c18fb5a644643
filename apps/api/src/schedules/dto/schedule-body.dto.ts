import { ApiProperty, ApiPropertyOptional, OmitType, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { CATCH_UP_LIMITS, EVERY_MS_LIMITS, MAX_CRON_LENGTH, MISSED_POLICIES, SCHEDULE_NAME_PATTERN } from '@app/queue';
import type { MissedPolicy } from '@app/queue';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ApiAnyJson, ApiSchemaKeywords } from '../../openapi';
import { NotWith, SubmitTaskDto } from '../../submit/dto/submit-task.dto';
import { IsPresent, Omittable } from '../../validation/decorators';

/** IANA time zone names as the document states them; whether the server knows the zone is checked on use. */
export const TIME_ZONE_PATTERN = /^[A-Za-z0-9_+\-/]{1,64}$/;
export const DEFAULT_CATCH_UP_LIMIT = 10;

/**
 * The task a schedule enqueues at each tick: a submit body's fields and rules (the same decorators,
 * picked from SubmitTaskDto, and the same checks in SubmitService.toTask), without delay_ms and
 * run_at: a schedule says when.
 */
@ApiSchemaKeywords({ additionalProperties: false })
export class ScheduleTaskDto extends PickType(SubmitTaskDto, [
  'task_type',
  'payload',
  'queue',
  'priority',
  'max_retries',
  'timeout_ms',
] as const) {}
// The picked payload keeps its rules; its schema (any JSON value) is named per class in the document.
ApiAnyJson({
  example: { report: 'daily' },
  description:
    "Any JSON value (null too), checked against the task type's contract; at most MAX_PAYLOAD_BYTES serialized",
})(ScheduleTaskDto.prototype, 'payload');

/** Not both cron and every_ms, tz only with cron. (The empty property schemas name what `required` refers to.) */
const notBoth = (a: string, b: string): SchemaObject => ({
  not: { properties: { [a]: {}, [b]: {} }, required: [a, b] },
});
const ONE_SPEC: SchemaObject[] = [notBoth('cron', 'every_ms'), notBoth('tz', 'every_ms')];
const given = (a: string): SchemaObject => ({ properties: { [a]: {} }, required: [a] });
/** ... and one of them. */
const SOME_SPEC: SchemaObject = { anyOf: [given('cron'), given('every_ms')] };

/**
 * A schedule's definition, as PUT /schedules/{name} takes it. Each rule is stated twice, side by
 * side, as for submit bodies: class-validator decorators (naming the field and rule of a bad body)
 * and the OpenAPI schema (compiled into the api's fast check). Whether a cron expression parses and
 * a time zone exists is checked after (400 naming `cron` or `tz`).
 */
@ApiSchemaKeywords({ additionalProperties: false, allOf: [...ONE_SPEC, SOME_SPEC] })
export class PutScheduleDto {
  @ApiPropertyOptional({
    example: '0 3 * * *',
    maxLength: MAX_CRON_LENGTH,
    description:
      'Cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first); names (MON, JAN), ranges, steps, L, W, # and @daily-style nicknames. Read in tz. Give cron or every_ms',
  })
  @ValidateIf((body: PutScheduleDto) => body.cron !== undefined || body.every_ms === undefined)
  @IsPresent({ message: 'cron or every_ms is required: give one of them' })
  @IsString()
  @MaxLength(MAX_CRON_LENGTH)
  cron?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: EVERY_MS_LIMITS.min,
    maximum: EVERY_MS_LIMITS.max,
    example: 60_000,
    description: 'Fire every this many ms, at multiples of it since 1970-01-01 UTC (not with cron or tz)',
  })
  @Omittable()
  @IsInt()
  @Min(EVERY_MS_LIMITS.min)
  @Max(EVERY_MS_LIMITS.max)
  @NotWith('cron')
  every_ms?: number;

  @ApiPropertyOptional({
    example: 'Europe/Berlin',
    pattern: TIME_ZONE_PATTERN.source,
    description: 'IANA time zone the cron expression is read in (with cron only). Default: UTC',
  })
  @Omittable()
  @IsString()
  @Matches(TIME_ZONE_PATTERN, { message: 'tz must be an IANA time zone name such as Europe/Berlin' })
  @NotWith('every_ms')
  tz?: string;

  @ApiProperty({
    type: ScheduleTaskDto,
    description: 'The task enqueued at each tick, checked like a POST /submit body',
  })
  @IsPresent()
  @IsObject()
  @ValidateNested()
  @Type(() => ScheduleTaskDto)
  task!: ScheduleTaskDto;

  @ApiPropertyOptional({ type: Boolean, description: 'A disabled schedule fires nothing. Default: true' })
  @Omittable()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    enum: MISSED_POLICIES,
    description:
      'Ticks that passed while nothing fired them (workers down): skip = resume at the next tick (a tick up to SCHEDULE_MISFIRE_GRACE_MS late still runs); catch_up = enqueue the latest catch_up_limit of them, oldest first. Default: skip',
  })
  @Omittable()
  @IsIn(MISSED_POLICIES)
  missed?: MissedPolicy;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: CATCH_UP_LIMITS.min,
    maximum: CATCH_UP_LIMITS.max,
    description: `With catch_up: the most missed ticks enqueued at once. Default: ${DEFAULT_CATCH_UP_LIMIT}`,
  })
  @Omittable()
  @IsInt()
  @Min(CATCH_UP_LIMITS.min)
  @Max(CATCH_UP_LIMITS.max)
  catch_up_limit?: number;
}

/** POST /schedules: a definition and its unique name. */
@ApiSchemaKeywords({ additionalProperties: false, allOf: [...ONE_SPEC, SOME_SPEC] })
export class CreateScheduleDto extends PutScheduleDto {
  @ApiProperty({
    example: 'nightly-report',
    pattern: SCHEDULE_NAME_PATTERN.source,
    description: 'Unique; PUT /schedules/{name} upserts by it',
  })
  @IsPresent()
  @IsString()
  @Matches(SCHEDULE_NAME_PATTERN, { message: 'name must be 1-128 characters of [A-Za-z0-9_.:-]' })
  name!: string;
}

/**
 * PATCH /schedules/{schedule}: any of the definition's fields; the rest stay. cron or every_ms
 * replaces the timing (and restarts it from now), task replaces the whole task template.
 */
@ApiSchemaKeywords({ additionalProperties: false, allOf: ONE_SPEC })
export class PatchScheduleDto extends OmitType(PutScheduleDto, ['cron', 'task'] as const) {
  @ApiPropertyOptional({ example: '*/5 * * * *', maxLength: MAX_CRON_LENGTH, description: 'A new cron expression' })
  @Omittable()
  @IsString()
  @MaxLength(MAX_CRON_LENGTH)
  cron?: string;

  @ApiPropertyOptional({
    type: ScheduleTaskDto,
    description: 'A new task template, whole, checked like a POST /submit body',
  })
  @Omittable()
  @IsObject()
  @ValidateNested()
  @Type(() => ScheduleTaskDto)
  task?: ScheduleTaskDto;
}
