import type { OwnLimits } from './limits';

/**
 * What a credential may do. `submit`: POST /submit, /submit/batch and cancelling tasks; `read`: GET
 * tasks, queues and the dead-letter listing; `work`: the HTTP worker protocol (claim tasks, heartbeat,
 * complete, fail: /work/*); `admin`: everything, including DLQ actions, queue controls, API keys and
 * schedules.
 */
export const SCOPES = ['submit', 'read', 'work', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** Who is calling, once a credential has been verified (never the credential itself). */
export interface Principal {
  /**
   * Stable id for rate limits, quotas and logs: `key:<key id>`, `jwt:<digest of iss and sub>`, or
   * `anonymous` (AUTH_MODE=none). Holds no secret.
   */
  subject: string;
  /** How messages name it: the API key's name, the JWT's `sub`, `anonymous`. */
  name: string;
  kind: 'api-key' | 'jwt' | 'none';
  scopes: readonly Scope[];
  /** The queues it may see and use; null: every queue. */
  queues: readonly string[] | null;
  /** Its own rate limit and quota (an API key's, a JWT's claims); absent or null parts: the environment's defaults. */
  limits?: OwnLimits;
}

/** `admin` holds every scope. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope) || principal.scopes.includes('admin');
}

export function mayUseQueue(principal: Principal, queue: string): boolean {
  return principal.queues === null || principal.queues.includes(queue);
}

/** The queues of `queues` the principal may see, in their order. */
export function visibleQueues(principal: Principal, queues: readonly string[]): string[] {
  return principal.queues === null ? [...queues] : queues.filter((queue) => principal.queues!.includes(queue));
}

/** The one principal of AUTH_MODE=none: every scope, every queue. */
export const ANONYMOUS: Principal = Object.freeze({
  subject: 'anonymous',
  name: 'anonymous',
  kind: 'none' as const,
  scopes: Object.freeze([...SCOPES]),
  queues: null,
});
