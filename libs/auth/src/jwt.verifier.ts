import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, JWTPayload, jwtVerify } from 'jose';
import { QUEUE_NAME_PATTERN } from '@app/contracts';
import { JwtOptions } from './auth.options';
import { LimitShapeError, OwnLimits, quotaFromWire, rateLimitFromWire } from './limits';
import { isScope, Principal, Scope } from './scopes';

/** Why a JWT was refused, in words safe to answer with (never the token). */
export class JwtRejected extends Error {}

/** The algorithms a key can verify; JWT_ALGORITHMS may narrow them, never widen them. */
export function algorithmsFor(jwt: Pick<JwtOptions, 'secret' | 'publicKey' | 'jwksUrl'>): string[] {
  if (jwt.secret) return ['HS256', 'HS384', 'HS512'];
  if (jwt.jwksUrl) return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
  const key = createPublicKey(jwt.publicKey!);
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec':
      return ['ES256', 'ES384', 'ES512'];
    case 'ed25519':
    case 'ed448':
      return ['EdDSA'];
    default:
      throw new Error(`JWT_PUBLIC_KEY is a ${key.asymmetricKeyType} key; use an RSA, EC or Ed25519 public key`);
  }
}

/** The default when JWT_ALGORITHMS is empty: the one most issuers use for this kind of key. */
export function defaultAlgorithms(jwt: Pick<JwtOptions, 'secret' | 'publicKey' | 'jwksUrl'>): string[] {
  if (jwt.secret) return ['HS256'];
  if (jwt.jwksUrl) return ['RS256', 'ES256'];
  const possible = algorithmsFor(jwt);
  return possible.includes('RS256') ? ['RS256'] : [possible[0]];
}

/**
 * Verifies bearer JWTs with jose: the signature with the configured key and only the configured
 * algorithms (so `alg: none` and an HS256 token signed with a public key are refused), then `exp`
 * (required), `nbf`, `iss`, `aud` and `sub` (required). Scopes come from `scope` (space-separated,
 * as OAuth 2.0 issues it) or `scopes`/`scp` (a list); the queues from `taskq_queues` (a list of queue
 * names; absent = every queue); its own limits from `taskq_rate_limit` (`{"max", "per_ms"}`) and
 * `taskq_quota` (`{"tasks"?, "payload_bytes"?, "per_seconds"}`), absent or null = the environment's
 * defaults. A malformed taskq_* claim refuses the token: it never widens access or drops a limit.
 */
export class JwtVerifier {
  private readonly key: Uint8Array | KeyObject | ReturnType<typeof createRemoteJWKSet>;
  private readonly algorithms: string[];

  constructor(private readonly options: JwtOptions) {
    if (options.secret) this.key = new TextEncoder().encode(options.secret);
    else if (options.publicKey) this.key = createPublicKey(options.publicKey);
    else if (options.jwksUrl)
      this.key = createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 3000, cooldownDuration: 30_000 });
    else throw new Error('JWT verification needs JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL');
    this.algorithms = options.algorithms.length ? options.algorithms : defaultAlgorithms(options);
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as Parameters<typeof jwtVerify>[1], {
        algorithms: this.algorithms,
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw new JwtRejected(describe(error));
    }
    return {
      subject: `jwt:${createHash('sha256').update(`${payload.iss}\n${payload.sub}`).digest('hex').slice(0, 24)}`,
      name: String(payload.sub).slice(0, 128),
      kind: 'jwt',
      scopes: scopesOf(payload),
      queues: queuesOf(payload),
      limits: limitsOf(payload),
    };
  }
}

function limitsOf(payload: JWTPayload): OwnLimits {
  try {
    return {
      rateLimit: rateLimitFromWire(payload.taskq_rate_limit, 'taskq_rate_limit'),
      quota: quotaFromWire(payload.taskq_quota, 'taskq_quota'),
    };
  } catch (error) {
    if (error instanceof LimitShapeError) throw new JwtRejected(`JWT claim ${error.message}`);
    throw error;
  }
}

function scopesOf(payload: JWTPayload): Scope[] {
  const raw = [payload.scope, payload.scopes, payload.scp].flatMap((claim) =>
    typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [],
  );
  // Scopes of other services in the same token are ignored, not refused.
  return [...new Set(raw.filter(isScope))];
}

function queuesOf(payload: JWTPayload): string[] | null {
  const claim = payload.taskq_queues;
  if (claim === undefined) return null;
  if (!Array.isArray(claim) || !claim.every((queue) => typeof queue === 'string' && QUEUE_NAME_PATTERN.test(queue))) {
    throw new JwtRejected('JWT claim taskq_queues must be a list of queue names');
  }
  return [...new Set(claim as string[])];
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'JWT has expired (exp)';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === 'nbf') return 'JWT is not valid yet (nbf)';
    if (claim === 'aud') return 'JWT audience (aud) is not this api';
    if (claim === 'iss') return 'JWT issuer (iss) is not trusted';
    return `JWT claim ${claim} is missing or invalid`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'JWT algorithm is not accepted';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'JWT signature is invalid';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'JWT key (kid) is not in the JWKS';
  if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
    return 'JWT could not be verified: the key set (JWT_JWKS_URL) did not answer';
  }
  return 'JWT is malformed or uses an unsupported form';
}
