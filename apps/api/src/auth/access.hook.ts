import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  Authenticator,
  AuthOutcome,
  defaultQuota,
  hasScope,
  ownLimitName,
  Principal,
  quotaToWire,
  RateLimiter,
} from '@app/auth';
import { ApiEnv, isLoopback } from '../config/api.env';
import { ACCESS_CONFIG, AccessRule, forbiddenScope, tooManyRequests, unauthorized } from './access';

/**
 * Routes Nest's SwaggerModule serves (the UI and the document), and the console's static files at /ui: public,
 * static, not rate limited.
 */
const DOCS = /^\/(docs(-json|-yaml|\/|$)|ui(\/|$))/;

/** The rate limit a request is counted against: whose counter, its max and window, and the setting that holds it. */
interface RequestRate {
  subject: string;
  max: number;
  perMs: number;
  source: string;
}

/**
 * Who may call what, checked in Fastify's onRequest, before the body is read or parsed (an
 * unauthenticated client cannot make the api buffer and parse a 16 MiB body):
 *   1. the credentials become a principal (Authenticator: API key, JWT, or AUTH_MODE=none);
 *   2. the rate limit, counted in Redis across every replica (RateLimiter, from a lease in memory):
 *      per credential (its own rate_limit, else RATE_LIMIT_MAX), or per client address for requests
 *      without a valid one; none at all for AUTH_MODE=none on a loopback HOST (one machine's own use);
 *   3. 401 without a valid credential, 403 without the route's scope.
 * Every route declares its rule (@Public() or @RequireScopes(...)); one that does not stops the
 * api at boot.
 */
@Injectable()
export class AccessHook {
  private readonly logger = new Logger('Access');

  constructor(
    private readonly authenticator: Authenticator,
    private readonly rateLimiter: RateLimiter,
    private readonly config: ConfigService<ApiEnv, true>,
  ) {}

  async register(fastify: FastifyInstance): Promise<void> {
    const limits = {
      max: this.env('RATE_LIMIT_MAX'),
      unauthenticatedMax: this.env('RATE_LIMIT_UNAUTHENTICATED_MAX'),
      windowMs: this.env('RATE_LIMIT_WINDOW_MS'),
      // Everyone is the one anonymous principal, and only this machine can reach the api.
      anonymousUnlimited: this.authenticator.mode === 'none' && isLoopback(this.env('HOST')),
    };
    this.logDefaults(limits);
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

      const rate = rateOf(principal, request.ip, limits);
      if (rate && rate.max > 0) {
        const result = await this.rateLimiter.take(rate.subject, rate);
        if (!result.allowed) {
          const who = rate.subject.startsWith('ip:') ? `client ${request.ip}` : 'this credential';
          throw tooManyRequests(
            `rate limit of ${rate.max} requests per ${rate.perMs / 1000} s (${rate.source}) reached for ${who}; retry after ${result.retryAfterSeconds} s`,
            result.retryAfterSeconds,
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

  private env<K extends keyof ApiEnv>(name: K): ApiEnv[K] {
    return this.config.get(name, { infer: true }) as ApiEnv[K];
  }

  /**
   * The limits of a credential without its own, once at boot: what an operator checks a producer's
   * rate against (and what the e2e suite checks the shipped defaults by).
   */
  private logDefaults(limits: { max: number; windowMs: number; anonymousUnlimited: boolean }): void {
    const quota = defaultQuota({
      tasks: this.env('QUOTA_TASKS'),
      payloadBytes: this.env('QUOTA_PAYLOAD_BYTES'),
      windowSeconds: this.env('QUOTA_WINDOW_SECONDS'),
    });
    if (limits.anonymousUnlimited) {
      const msg = 'no rate limit: AUTH_MODE=none on a loopback HOST';
      this.logger.log({ msg, default_limits: { rate_limit: null, quota: null } });
      return;
    }
    const rate = limits.max > 0 ? { max: limits.max, per_ms: limits.windowMs } : null;
    const rateText = rate ? `${rate.max} requests per ${rate.per_ms / 1000} s` : 'none';
    const quotaText = quota
      ? `${quota.tasks ?? 'any number of'} tasks and ${quota.payloadBytes ?? 'any number of'} payload bytes per ${quota.perSeconds} s`
      : 'none';
    this.logger.log({
      msg: `default limits per credential: rate ${rateText}, quota ${quotaText}; a key's or token's own limits replace them`,
      default_limits: { rate_limit: rate, quota: quota && quotaToWire(quota) },
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

/**
 * The rate limit a request counts against: a credential's own, else RATE_LIMIT_MAX; without a valid
 * credential, RATE_LIMIT_UNAUTHENTICATED_MAX per client address; none for AUTH_MODE=none on loopback
 * (and per client address for none elsewhere, as a gateway in front may let anyone through).
 */
function rateOf(
  principal: Principal | undefined,
  ip: string,
  limits: { max: number; unauthenticatedMax: number; windowMs: number; anonymousUnlimited: boolean },
): RequestRate | undefined {
  if (!principal) {
    const source = 'RATE_LIMIT_UNAUTHENTICATED_MAX';
    return { subject: `ip:${ip}`, max: limits.unauthenticatedMax, perMs: limits.windowMs, source };
  }
  if (principal.kind === 'none') {
    if (limits.anonymousUnlimited) return undefined;
    return { subject: `ip:${ip}`, max: limits.max, perMs: limits.windowMs, source: 'RATE_LIMIT_MAX' };
  }
  const own = principal.limits?.rateLimit;
  if (own) return { subject: principal.subject, ...own, source: ownLimitName(principal.kind, 'rate_limit') };
  return { subject: principal.subject, max: limits.max, perMs: limits.windowMs, source: 'RATE_LIMIT_MAX' };
}
