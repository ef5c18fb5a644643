import { applyDecorators, CanActivate, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiServiceUnavailableResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { badRequest } from './api-errors';
import { ErrorBodyDto } from './error-body.dto';

/** The 503 of a route that reads or writes Redis: the error body, and Retry-After (HttpErrorFilter sets it). */
export function ApiRedisUnavailableResponse(description = 'Redis unavailable; retry after Retry-After seconds') {
  return ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description,
    headers: {
      'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer' } },
    },
  });
}

/**
 * Refuses query parameters on a route that takes none (400, rule unknownField), as bodies and the
 * /dlq queries refuse unknown fields: a mistyped parameter is reported, not silently ignored.
 */
@Injectable()
export class NoQueryParametersGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const query = context.switchToHttp().getRequest<FastifyRequest>().query as Record<string, unknown> | undefined;
    const unknown = Object.keys(query ?? {});
    if (unknown.length > 0) {
      throw badRequest(
        unknown.map((field) => ({
          field,
          rule: 'unknownField',
          message: `${field}: query parameter ${field} should not exist; this route takes none`,
        })),
      );
    }
    return true;
  }
}

/** NoQueryParametersGuard, with its 400 in the document. */
export function NoQueryParameters() {
  return applyDecorators(
    UseGuards(NoQueryParametersGuard),
    ApiBadRequestResponse({ type: ErrorBodyDto, description: 'An unknown query parameter (this route takes none)' }),
  );
}
