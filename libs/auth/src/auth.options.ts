import type { Scope } from './scopes';

/** AUTH_MODE: which credentials the api takes; `none` takes none and lets everyone do everything. */
export const AUTH_MODES = ['api-key', 'jwt', 'both', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface JwtOptions {
  /** HS256/384/512 shared secret (JWT_SECRET). */
  secret?: string;
  /** PEM public key for RS*, PS*, ES* or EdDSA (JWT_PUBLIC_KEY). */
  publicKey?: string;
  /** A JWKS endpoint (JWT_JWKS_URL); keys are fetched and cached, and refetched for an unknown `kid`. */
  jwksUrl?: string;
  /** The only algorithms accepted (JWT_ALGORITHMS); derived from the key when empty. */
  algorithms: string[];
  /** Required `iss` (JWT_ISSUER). */
  issuer: string;
  /** Required `aud` (JWT_AUDIENCE). */
  audience: string;
  /** Leeway for `exp` and `nbf`, seconds (JWT_CLOCK_TOLERANCE_SECONDS). */
  clockToleranceSeconds: number;
}

/** What libs/auth needs; the api builds it from its validated config. */
export interface AuthModuleOptions {
  mode: AuthMode;
  /** Key prefix shared with the queue (QUEUE_PREFIX). */
  prefix: string;
  jwt?: JwtOptions;
  /** An admin key that must exist (BOOTSTRAP_ADMIN_KEY); created at boot unless it exists or was revoked. */
  bootstrapAdminKey?: string;
  quota: {
    /** Tasks one subject may submit per window; 0 = no quota (QUOTA_TASKS). */
    tasks: number;
    /** Serialized payload bytes one subject may submit per window; 0 = no quota (QUOTA_PAYLOAD_BYTES). */
    payloadBytes: number;
    /** The window, seconds (QUOTA_WINDOW_SECONDS). */
    windowSeconds: number;
  };
}

/** The scopes of the bootstrap admin key. */
export const BOOTSTRAP_SCOPES: readonly Scope[] = ['admin'];
