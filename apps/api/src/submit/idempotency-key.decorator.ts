import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { badRequest } from '../filters/api-errors';
import { IDEMPOTENCY_KEY_PATTERN } from './dto/submit-task.dto';

/**
 * The `Idempotency-Key` request header, checked by the same rule as the body's idempotency_key
 * (a 400 naming it when malformed); undefined when absent.
 */
export const IdempotencyKey = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const value = context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(value)) {
    const message = 'Idempotency-Key must be one header of 1-255 characters of [A-Za-z0-9_.:=+/-]';
    throw badRequest([{ field: 'Idempotency-Key', rule: 'matches', message }]);
  }
  return value;
});
