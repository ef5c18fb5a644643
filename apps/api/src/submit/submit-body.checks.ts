import { Type } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { FieldError } from '../filters/api-errors';
import { BodyCheck } from '../validation/api-validation.pipe';
import { openApiSchemaCompiler } from '../validation/openapi-schemas';
import { SubmitBatchDto } from './dto/submit-batch.dto';
import { SubmitTaskDto } from './dto/submit-task.dto';

/** A batch over MAX_BATCH_SIZE, refused before anything walks its tasks. */
export function batchSizeErrors(value: unknown, maxBatchSize: number): FieldError[] {
  const tasks = (value as { tasks?: unknown } | null)?.tasks;
  if (!Array.isArray(tasks) || tasks.length <= maxBatchSize) return [];
  const message = `tasks has ${tasks.length} items; at most ${maxBatchSize} are allowed (MAX_BATCH_SIZE)`;
  return [{ field: 'tasks', rule: 'arrayMaxSize', message }];
}

/** The submit bodies' checks, compiled from the schemas the served document shows for them. */
export function submitBodyChecks(document: OpenAPIObject, limits: { maxBatchSize: number }): Map<Type, BodyCheck> {
  const compile = openApiSchemaCompiler(document);
  const task = compile(SubmitTaskDto.name);
  return new Map<Type, BodyCheck>([
    [SubmitTaskDto, { fast: task }],
    [
      SubmitBatchDto,
      {
        fast: compile(SubmitBatchDto.name),
        limits: (value) => batchSizeErrors(value, limits.maxBatchSize),
        items: { field: 'tasks', fast: task },
      },
    ],
  ]);
}
