import { Type } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { BodyCheck } from '../validation/api-validation.pipe';
import { openApiSchemaCompiler } from '../validation/openapi-schemas';
import { CreateScheduleDto, PatchScheduleDto, PutScheduleDto } from './dto/schedule-body.dto';

/** The schedule bodies' checks, compiled from the schemas the served document shows for them. */
export function scheduleBodyChecks(document: OpenAPIObject): Map<Type, BodyCheck> {
  const compile = openApiSchemaCompiler(document);
  return new Map<Type, BodyCheck>(
    [CreateScheduleDto, PutScheduleDto, PatchScheduleDto].map((dto) => [dto, { fast: compile(dto.name) }]),
  );
}
