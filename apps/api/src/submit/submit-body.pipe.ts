import { ArgumentMetadata, Injectable, PipeTransform, Type, ValidationPipe } from '@nestjs/common';
import { QUEUE_NAME_PATTERN, TASK_TYPE_PATTERN } from '@app/contracts';
import { validationPipe } from '../validation/api-validation.pipe';
import { SubmitBatchDto } from './dto/submit-batch.dto';
import { SUBMIT_LIMITS, SubmitTaskDto } from './dto/submit-task.dto';

const TASK_FIELDS = new Set([
  'task_type',
  'payload',
  'queue',
  'priority',
  'max_retries',
  'delay_ms',
  'run_at',
  'timeout_ms',
]);

const intIn = (value: unknown, { min, max }: { min: number; max: number }) =>
  value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max);

/**
 * True only when the body certainly passes every rule of SubmitTaskDto. Anything unusual (a null
 * optional field, run_at, a broken rule) answers false and goes through class-validator, which
 * then names the field and the rule exactly as before: this only decides who says "valid".
 */
export function isPlainValidTask(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const task = value as Record<string, unknown>;
  for (const key in task) if (!TASK_FIELDS.has(key)) return false;
  return (
    typeof task.task_type === 'string' &&
    TASK_TYPE_PATTERN.test(task.task_type) &&
    task.payload !== undefined &&
    (task.queue === undefined || (typeof task.queue === 'string' && QUEUE_NAME_PATTERN.test(task.queue))) &&
    intIn(task.priority, SUBMIT_LIMITS.priority) &&
    intIn(task.max_retries, SUBMIT_LIMITS.maxRetries) &&
    intIn(task.delay_ms, SUBMIT_LIMITS.delayMs) &&
    task.run_at === undefined &&
    intIn(task.timeout_ms, SUBMIT_LIMITS.timeoutMs)
  );
}

export function isPlainValidBatch(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const body = value as Record<string, unknown>;
  for (const key in body) if (key !== 'tasks') return false;
  const tasks = body.tasks;
  return Array.isArray(tasks) && tasks.length >= 1 && tasks.every(isPlainValidTask);
}

/**
 * The submit routes' body validation. class-transformer + class-validator cost more than the
 * rest of a request (and grow with a 1000-task batch), so a body that is certainly valid is
 * passed on as the plain object; every other body is validated by the api's ValidationPipe
 * against the DTO, with its error contract unchanged.
 */
@Injectable()
export class SubmitBodyPipe<T> implements PipeTransform<unknown, T | Promise<T>> {
  private readonly full: ValidationPipe = validationPipe();

  constructor(
    private readonly dto: Type<T>,
    private readonly isValid: (value: unknown) => boolean,
  ) {}

  transform(value: unknown, metadata: ArgumentMetadata): T | Promise<T> {
    if (this.isValid(value)) return value as T;
    return this.full.transform(value, { ...metadata, metatype: this.dto }) as Promise<T>;
  }
}

export const submitTaskBody = new SubmitBodyPipe(SubmitTaskDto, isPlainValidTask);
export const submitBatchBody = new SubmitBodyPipe(SubmitBatchDto, isPlainValidBatch);
