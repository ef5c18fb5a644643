import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { badRequest, flattenValidationErrors } from './filters/api-errors';

/**
 * Deepest JSON nesting a request body may have. class-transformer walks bodies recursively, so a
 * body nested a few thousand levels deep (found by the fault suite's fuzz) overflowed the stack and
 * was answered 500; anything past this limit is bad input, answered 400 before that walk.
 */
export const MAX_BODY_DEPTH = 64;

/** True when `value` nests deeper than `limit` levels; never recurses past the limit. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit <= 0) return true;
  for (const child of Object.values(value as Record<string, unknown>)) {
    if (nestsDeeperThan(child, limit - 1)) return true;
  }
  return false;
}

/** Strict input: unknown fields rejected, no type coercion, every broken rule reported by field. */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && nestsDeeperThan(value, MAX_BODY_DEPTH)) {
      throw badRequest([
        { field: 'body', rule: 'maxDepth', message: `body nests deeper than ${MAX_BODY_DEPTH} levels` },
      ]);
    }
    return super.transform(value, metadata);
  }
}

export function validationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => badRequest(flattenValidationErrors(errors)),
  });
}
