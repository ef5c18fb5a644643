import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  HttpException,
  HttpStatus,
  SetMetadata,
} from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { mayUseQueue, Principal, Scope } from '@app/auth';
import { queueOfTaskId } from '@app/queue';
import { ErrorBodyDto } from '../filters/error-body.dto';

/** Route config key (Fastify `config`) of a route's access rule, read by AccessHook before the body is read. */
export const ACCESS_CONFIG = 'taskqAccess';

export type AccessRule = { public: true } | { public?: false; scopes: readonly Scope[] };

/** The OpenAPI security schemes (configure-api.ts declares them). */
export const SECURITY_SCHEMES = { apiKey: 'api-key', bearer: 'bearer' } as const;

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set by AccessHook on every route that needs a scope. */
    principal: Principal | null;
  }
}

/**
 * Anyone may call the route, without credentials and without a rate limit (health probes). Every
 * route must say @Public() or @RequireScopes(...): the api refuses to start otherwise.
 */
export function Public(): MethodDecorator {
  return applyDecorators(
    SetMetadata(ACCESS_CONFIG, { public: true }),
    RouteConfig({ [ACCESS_CONFIG]: { public: true } }),
  );
}

/**
 * The route needs a credential holding `scope` (`admin` holds them all), checked with the rate
 * limit before the body is read: 401 without a valid credential (WWW-Authenticate), 403 without the
 * scope (naming it), 429 past the rate limit (Retry-After); each documented in OpenAPI. Queue
 * restrictions need the request's queue: the handler checks them with `assertQueueAccess`.
 *
 *   @Post(':id/pause') @RequireScopes('admin') pause(@CurrentPrincipal() principal: Principal, ...)
 */
export function RequireScopes(scope: Scope): MethodDecorator {
  const rule: AccessRule = { scopes: [scope] };
  const holders = scope === 'admin' ? 'admin' : `${scope} or admin`;
  return applyDecorators(
    SetMetadata(ACCESS_CONFIG, rule),
    RouteConfig({ [ACCESS_CONFIG]: rule }),
    ApiSecurity(SECURITY_SCHEMES.apiKey),
    ApiBearerAuth(SECURITY_SCHEMES.bearer),
    ApiUnauthorizedResponse({
      type: ErrorBodyDto,
      description: 'No credential, or an unknown, revoked, expired or malformed one; WWW-Authenticate says so',
      headers: {
        'WWW-Authenticate': {
          description: 'Bearer realm="taskq", with error="invalid_token" for a bad credential',
          required: true,
          schema: { type: 'string' },
        },
      },
    }),
    ApiForbiddenResponse({
      type: ErrorBodyDto,
      description: `Needs scope ${scope} (held by ${holders} credentials; missing_scope names it), or the credential may not use this queue (queue names it)`,
    }),
    ApiTooManyRequestsResponse({
      type: ErrorBodyDto,
      description:
        'Past the rate limit of this credential (or, without one, of this client address); retry after Retry-After seconds',
      headers: {
        'Retry-After': { description: 'Seconds until the window ends', required: true, schema: { type: 'integer' } },
      },
    }),
  );
}

/** The caller of a route with @RequireScopes (AUTH_MODE=none: the anonymous principal). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<FastifyRequest>().principal;
  // A handler asking for the caller of a @Public() route is a bug, not a request to answer.
  if (!principal) throw new Error('@CurrentPrincipal() used on a route without @RequireScopes()');
  return principal;
});

/** An error the filter answers as it is, with headers (WWW-Authenticate, Retry-After). */
export class HttpErrorWithHeaders extends HttpException {
  constructor(
    body: Record<string, unknown> & { statusCode: number; error: string; message: string },
    readonly headers: Record<string, string>,
  ) {
    super(body, body.statusCode);
  }
}

/** 401: no usable credential. `reason` (never the credential) goes into the message and the challenge. */
export function unauthorized(reason: string | undefined, accepted: string): HttpException {
  const message = reason ? `Invalid credential: ${reason}` : `Authentication required: send ${accepted}`;
  const challenge = reason
    ? `Bearer realm="taskq", error="invalid_token", error_description="${reason.replaceAll('"', "'")}"`
    : 'Bearer realm="taskq"';
  return new HttpErrorWithHeaders(
    { statusCode: HttpStatus.UNAUTHORIZED, error: 'Unauthorized', message },
    { 'WWW-Authenticate': challenge },
  );
}

/** 403: the credential lacks `scope`. */
export function forbiddenScope(principal: Principal, scope: Scope): HttpException {
  const held = principal.scopes.length ? principal.scopes.join(', ') : 'no scope';
  return new HttpErrorWithHeaders(
    {
      statusCode: HttpStatus.FORBIDDEN,
      error: 'Forbidden',
      message: `this route needs scope ${scope}; ${describe(principal)} holds ${held}`,
      missing_scope: scope,
    },
    {},
  );
}

/** 403 unless the principal may use `queue`; `field` says where the request named it. */
export function assertQueueAccess(principal: Principal, queue: string, field = 'queue'): void {
  if (mayUseQueue(principal, queue)) return;
  throw new HttpErrorWithHeaders(
    {
      statusCode: HttpStatus.FORBIDDEN,
      error: 'Forbidden',
      message: `${field}: ${describe(principal)} may use queue${principal.queues!.length === 1 ? '' : 's'} ${principal.queues!.join(', ')}, not ${queue}`,
      queue,
    },
    {},
  );
}

/** 403 for a task of a queue the caller may not use (an id that names no queue is left to answer 404). */
export function assertTaskAccess(principal: Principal, id: string): void {
  const queue = queueOfTaskId(id);
  if (queue !== undefined) assertQueueAccess(principal, queue, 'id');
}

/** 403 unless the principal may use every queue (API key management: no restricted key may mint keys). */
export function assertAllQueues(principal: Principal, what: string): void {
  if (principal.queues === null) return;
  throw new HttpErrorWithHeaders(
    {
      statusCode: HttpStatus.FORBIDDEN,
      error: 'Forbidden',
      message: `${what} needs an admin credential without a queue restriction; ${describe(principal)} is restricted to ${principal.queues.join(', ')}`,
    },
    {},
  );
}

/** 429 with Retry-After. */
export function tooManyRequests(message: string, retryAfterSeconds: number): HttpException {
  return new HttpErrorWithHeaders(
    { statusCode: HttpStatus.TOO_MANY_REQUESTS, error: 'Too Many Requests', message },
    { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  );
}

function describe(principal: Principal): string {
  switch (principal.kind) {
    case 'api-key':
      return `API key ${principal.subject.slice(4)} (${principal.name})`;
    case 'jwt':
      return `token of ${principal.name}`;
    default:
      return principal.name;
  }
}
