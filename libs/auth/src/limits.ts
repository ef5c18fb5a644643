/**
 * Limits a credential may carry of its own (an API key's record, a JWT's claims), in place of the
 * environment's defaults (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS; QUOTA_TASKS and QUOTA_PAYLOAD_BYTES
 * per QUOTA_WINDOW_SECONDS). On the wire (HTTP bodies, JWT claims) they are
 * `{"max", "per_ms"}` and `{"tasks"?, "payload_bytes"?, "per_seconds"}`.
 */

/** At most `max` requests per fixed window of `perMs`, counted in Redis across every api replica. */
export interface RateLimit {
  max: number;
  perMs: number;
}

/** Tasks and/or serialized payload bytes per window of `perSeconds`; null: that count is not limited. */
export interface Quota {
  tasks: number | null;
  payloadBytes: number | null;
  perSeconds: number;
}

/** A credential's own limits; null: the environment's default applies. */
export interface OwnLimits {
  rateLimit: RateLimit | null;
  quota: Quota | null;
}

/**
 * The one range of every limit, for a credential's own and for the environment's: the api's body
 * validation and OpenAPI document, the JWT claims, `npm run keys` and ApiEnv all read it here.
 */
export const LIMIT_BOUNDS = {
  rateMax: { min: 1, max: 10_000_000 },
  /** Whole seconds or more: Retry-After is in seconds, and shorter fixed windows only add key churn. */
  ratePerMs: { min: 1000, max: 86_400_000 },
  quotaTasks: { min: 1, max: 1_000_000_000 },
  /** 1 TiB: far below 2^53, so Lua's doubles count every byte exactly. */
  quotaPayloadBytes: { min: 1, max: 2 ** 40 },
  quotaPerSeconds: { min: 1, max: 30 * 86_400 },
} as const;

/**
 * How a 429 names a credential's own limit: `the key's own quota.tasks`, `the token's taskq_quota.tasks`.
 * `part` is the field as the HTTP API names it (rate_limit, quota.tasks, quota.payload_bytes).
 */
export function ownLimitName(kind: 'api-key' | 'jwt' | 'none', part: string): string {
  return kind === 'jwt' ? `the token's taskq_${part}` : `the key's own ${part}`;
}

/** A limit given in a shape or range it may not have; the message names the field and the rule. */
export class LimitShapeError extends Error {}

type Bounds = { min: number; max: number };

function integerIn(value: unknown, bounds: Bounds, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new LimitShapeError(`${field} must be an integer from ${bounds.min} to ${bounds.max}`);
  }
  return value;
}

function objectWith(value: unknown, field: string, allowed: string[], shape: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LimitShapeError(`${field} must be an object ${shape}, or null`);
  }
  const unknown = Object.keys(value).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw new LimitShapeError(`${field}.${unknown} is not a field of ${shape}`);
  return value as Record<string, unknown>;
}

/** `{"max", "per_ms"}` (wire form) as a RateLimit; null or absent: none of its own. Throws LimitShapeError. */
export function rateLimitFromWire(value: unknown, field: string): RateLimit | null {
  if (value === undefined || value === null) return null;
  const shape = '{"max", "per_ms"}';
  const given = objectWith(value, field, ['max', 'per_ms'], shape);
  return {
    max: integerIn(given.max, LIMIT_BOUNDS.rateMax, `${field}.max`),
    perMs: integerIn(given.per_ms, LIMIT_BOUNDS.ratePerMs, `${field}.per_ms`),
  };
}

/** `{"tasks"?, "payload_bytes"?, "per_seconds"}` (wire form) as a Quota; null or absent: none of its own. */
export function quotaFromWire(value: unknown, field: string): Quota | null {
  if (value === undefined || value === null) return null;
  const shape = '{"tasks"?, "payload_bytes"?, "per_seconds"}';
  const given = objectWith(value, field, ['tasks', 'payload_bytes', 'per_seconds'], shape);
  if (given.tasks === undefined && given.payload_bytes === undefined) {
    throw new LimitShapeError(`${field} needs tasks, payload_bytes or both`);
  }
  return {
    tasks: given.tasks === undefined ? null : integerIn(given.tasks, LIMIT_BOUNDS.quotaTasks, `${field}.tasks`),
    payloadBytes:
      given.payload_bytes === undefined
        ? null
        : integerIn(given.payload_bytes, LIMIT_BOUNDS.quotaPayloadBytes, `${field}.payload_bytes`),
    perSeconds: integerIn(given.per_seconds, LIMIT_BOUNDS.quotaPerSeconds, `${field}.per_seconds`),
  };
}

export function rateLimitToWire(limit: RateLimit): { max: number; per_ms: number } {
  return { max: limit.max, per_ms: limit.perMs };
}

export function quotaToWire(quota: Quota): { tasks: number | null; payload_bytes: number | null; per_seconds: number } {
  return { tasks: quota.tasks, payload_bytes: quota.payloadBytes, per_seconds: quota.perSeconds };
}
