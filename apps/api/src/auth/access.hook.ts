import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authKeys, Authenticator, AuthOutcome, hasScope, rateLimitSuffix } from '@app/auth';
import { REDIS_CLIENT, RedisClient } from '@app/queue';
import { ApiEnv } from '../config/api.env';
import { ACCESS_CONFIG, AccessRule, forbiddenScope, tooManyRequests, unauthorized } from './access';

/**
 * Routes Nest's SwaggerModule serves (the UI and the document), and the console's static files at /ui: public,
 * static, not rate limited.
 */
const DOCS = /^\/(docs(-json|-yaml|\/|$)|ui(\/|$))/;

const RATE_SUBJECT = Symbol('taskq.rateSubject');
const RATE_MAX = Symbol('taskq.rateMax');

type Limited = FastifyRequest & { [RATE_SUBJECT]?: string; [RATE_MAX]?: number };

/**
 * Who may call what, checked in Fastify's onRequest, before the body is read or parsed (an
 * unauthenticated client cannot make the api buffer and parse a 16 MiB body):
 *   1. the credentials become a principal (Authenticator: API key, JWT, or AUTH_MODE=none);
 *   2. the rate limit, shared by every replica through Redis (@fastify/rate-limit's Redis store):
 *      per credential, or per client address for requests without a valid one;
 *   3. 401 without a valid credential, 403 without the route's scope.
 * Every route declares its rule (@Public() or @RequireScopes(...)); one that does not stops the
 * api at boot.
 */
@Injectable()
export class AccessHook {
  private readonly logger = new Logger('Access');

  constructor(
    private readonly authenticator: Authenticator,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: ConfigService<ApiEnv, true>,
  ) {}

  async register(fastify: FastifyInstance): Promise<void> {
    const limits = {
      max: this.config.get('RATE_LIMIT_MAX', { infer: true }),
      unauthenticatedMax: this.config.get('RATE_LIMIT_UNAUTHENTICATED_MAX', { infer: true }),
      windowMs: this.config.get('RATE_LIMIT_WINDOW_MS', { infer: true }),
    };
    await fastify.register(rateLimit, {
      // No hooks of its own: the limiter is called below, after authentication, before authorization.
      global: false,
      redis: this.redis,
      nameSpace: authKeys(this.config.get('QUEUE_PREFIX', { infer: true })).rateLimitNamespace,
      keyGenerator: (request) => rateLimitSuffix((request as Limited)[RATE_SUBJECT]!),
      max: (request) => (request as Limited)[RATE_MAX]!,
      timeWindow: limits.windowMs,
      // Redis unreachable: requests go on (every route that does work answers 503 by itself then).
      skipOnError: true,
    });
    const limiter = fastify.createRateLimit();
    fastify.decorateRequest('principal', null);

    fastify.addHook('onRoute', (route) => {
      // The docs, the console, and CORS preflights (answered by @fastify/cors when CORS_ORIGINS is set).
      if (DOCS.test(route.url) || route.method === 'OPTIONS') return;
      if (!(route.config as Record<string, unknown> | undefined)?.[ACCESS_CONFIG]) {
        throw new Error(
          `${String(route.method)} ${route.url} declares no access rule: decorate its handler with @RequireScopes(...) or @Public() (apps/api/src/auth/access.ts)`,
        );
      }
    });

    fastify.addHook('onRequest', async (request) => {
      const rule = (request.routeOptions.config as unknown as Record<string, AccessRule | undefined> | undefined)?.[
        ACCESS_CONFIG
      ];
      // No rule: an unknown route (404) or the docs.
      if (!rule || rule.public) return;
      const outcome = await this.authenticator.authenticate(request.headers);
      const principal = outcome.kind === 'principal' ? outcome.principal : undefined;

      const authenticated = principal !== undefined && principal.kind !== 'none';
      const max = principal ? limits.max : limits.unauthenticatedMax;
      if (max > 0) {
        const limited = request as Limited;
        limited[RATE_SUBJECT] = authenticated ? principal.subject : `ip:${request.ip}`;
        limited[RATE_MAX] = max;
        const result = await limiter(request);
        if (!result.isAllowed && result.isExceeded) {
          const who = authenticated ? 'this credential' : `client ${request.ip}`;
          throw tooManyRequests(
            `rate limit of ${max} requests per ${limits.windowMs / 1000} s reached for ${who}; retry after ${result.ttlInSeconds} s`,
            result.ttlInSeconds,
          );
        }
      }

      if (!principal) {
        this.logRefusal(request, outcome);
        throw unauthorized(outcome.kind === 'invalid' ? outcome.reason : undefined, this.accepted());
      }
      const missing = 'scopes' in rule ? rule.scopes.find((scope) => !hasScope(principal, scope)) : undefined;
      if (missing) throw forbiddenScope(principal, missing);
      request.principal = principal;
    });
  }

  /** What a client may send, by AUTH_MODE. */
  private accepted(): string {
    switch (this.authenticator.mode) {
      case 'jwt':
        return 'Authorization: Bearer <JWT>';
      case 'api-key':
        return 'Authorization: Bearer <API key> or X-API-Key: <API key>';
      default:
        return 'Authorization: Bearer <API key or JWT> or X-API-Key: <API key>';
    }
  }

  /** A refused credential at info: the reason and the client, never the credential. */
  private logRefusal(request: FastifyRequest, outcome: AuthOutcome): void {
    if (outcome.kind !== 'invalid') return;
    this.logger.log({
      msg: 'credential refused',
      reason: outcome.reason,
      ip: request.ip,
      route: request.routeOptions.url,
    });
  }
}
