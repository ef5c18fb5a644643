import { isIP } from 'node:net';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { API_KEY_PATTERN, AUTH_MODES, AuthMode, algorithmsFor, LIMIT_BOUNDS } from '@app/auth';
import { SharedEnv, toBool, toInt } from '@app/config';

/** Longest a GET /tasks/{id}?wait_ms may hold a request; the socket timeouts below must allow it. */
export const MAX_WAIT_MS = 30_000;

const JWS_ALGORITHM = '(?:(?:HS|RS|PS|ES)(?:256|384|512)|EdDSA)';
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;
const PROXY = /^[0-9A-Fa-f.:/]+$/;

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * The api's environment: the shared variables plus HTTP limits, authentication, rate limits and
 * quotas. README.md's configuration table lists the same names and defaults.
 */
export class ApiEnv extends SharedEnv {
  @Transform(toInt)
  @Max(65535)
  @Min(1)
  @IsInt()
  PORT = 8080;

  @Transform(toInt)
  @Max(65535)
  @Min(1)
  @IsInt()
  METRICS_PORT = 9100;

  /** Largest serialized payload of one task. */
  @Transform(toInt)
  @Max(64 * 1024 * 1024)
  @Min(1)
  @IsInt()
  MAX_PAYLOAD_BYTES = 256 * 1024;

  /** Most tasks in one POST /submit/batch. */
  @Transform(toInt)
  @Max(100_000)
  @Min(1)
  @IsInt()
  MAX_BATCH_SIZE = 1000;

  /** Largest request body (POST /submit/batch; every other route has a smaller limit of its own). */
  @Transform(toInt)
  @Max(1024 * 1024 * 1024)
  @Min(1024)
  @IsInt()
  MAX_BODY_BYTES = 16 * 1024 * 1024;

  // ---------------------------------------------------------------- authentication

  /** Which credentials the api takes: api-key, jwt, both, or none (everyone may do everything). */
  @IsIn(AUTH_MODES)
  AUTH_MODE: AuthMode = 'api-key';

  /** AUTH_MODE=none on an address other machines can reach refuses to start unless this is true. */
  @Transform(toBool)
  @IsBoolean()
  ALLOW_UNAUTHENTICATED = false;

  /** An admin API key (tq_<12 hex>_<64 hex>) created at boot if missing; for compose/Kubernetes. */
  @IsString()
  @Matches(new RegExp(`^$|${API_KEY_PATTERN.source}`), {
    message: 'BOOTSTRAP_ADMIN_KEY must be tq_<12 hex digits>_<64 hex digits> (see README: creating the bootstrap key)',
  })
  BOOTSTRAP_ADMIN_KEY = '';

  /** HS256/384/512 secret for JWTs (at least 32 bytes). One of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL. */
  @IsString()
  JWT_SECRET = '';

  /** PEM public key (RSA, EC or Ed25519) that verifies JWTs. */
  @IsString()
  JWT_PUBLIC_KEY = '';

  /** A JWKS URL (https) whose keys verify JWTs. */
  @IsString()
  @Matches(/^$|^https?:\/\/\S+$/, { message: 'JWT_JWKS_URL must be an http(s) URL' })
  JWT_JWKS_URL = '';

  /** Accepted algorithms, comma-separated; default: HS256 for a secret, RS256 (or the key's kind) for a key, RS256,ES256 for a JWKS. */
  @IsString()
  @Matches(new RegExp(`^$|^${JWS_ALGORITHM}(,${JWS_ALGORITHM})*$`), {
    message: 'JWT_ALGORITHMS must be a comma-separated list such as RS256,ES256 (never none)',
  })
  JWT_ALGORITHMS = '';

  /** Required `iss` of every JWT. */
  @IsString()
  JWT_ISSUER = '';

  /** Required `aud` of every JWT. */
  @IsString()
  JWT_AUDIENCE = '';

  @Transform(toInt)
  @Max(300)
  @Min(0)
  @IsInt()
  JWT_CLOCK_TOLERANCE_SECONDS = 5;

  // ---------------------------------------------------------------- rate limits and quotas
  // The defaults for a credential without limits of its own are a safety net against a runaway client,
  // not a product limit: one key may submit 2,000 requests/s for an hour without a 429 (README, threat
  // model). A key's or token's own limits replace them; see libs/auth/src/limits.ts for the ranges.

  /**
   * Requests per RATE_LIMIT_WINDOW_MS per credential without a rate limit of its own (per client IP with
   * AUTH_MODE=none on a non-loopback HOST; never with none on loopback); 0 = off.
   */
  @Transform(toInt)
  @Max(LIMIT_BOUNDS.rateMax.max)
  @Min(0)
  @IsInt()
  RATE_LIMIT_MAX = 600_000;

  /** Requests per window per client IP that carry no valid credential (a 401 counts too); 0 = off. */
  @Transform(toInt)
  @Max(LIMIT_BOUNDS.rateMax.max)
  @Min(0)
  @IsInt()
  RATE_LIMIT_UNAUTHENTICATED_MAX = 60;

  @Transform(toInt)
  @Max(LIMIT_BOUNDS.ratePerMs.max)
  @Min(LIMIT_BOUNDS.ratePerMs.min)
  @IsInt()
  RATE_LIMIT_WINDOW_MS = 60_000;

  /** Tasks one credential without a quota of its own may submit per QUOTA_WINDOW_SECONDS; 0 = no quota. */
  @Transform(toInt)
  @Max(LIMIT_BOUNDS.quotaTasks.max)
  @Min(0)
  @IsInt()
  QUOTA_TASKS = 10_000_000;

  /** Serialized payload bytes such a credential may submit per QUOTA_WINDOW_SECONDS; 0 = no quota. */
  @Transform(toInt)
  @Max(LIMIT_BOUNDS.quotaPayloadBytes.max)
  @Min(0)
  @IsInt()
  QUOTA_PAYLOAD_BYTES = 10 * 1024 ** 3;

  @Transform(toInt)
  @Max(LIMIT_BOUNDS.quotaPerSeconds.max)
  @Min(LIMIT_BOUNDS.quotaPerSeconds.min)
  @IsInt()
  QUOTA_WINDOW_SECONDS = 3600;

  // ---------------------------------------------------------------- HTTP hardening

  /**
   * Proxies whose X-Forwarded-For is believed: addresses/CIDRs, comma-separated. Empty: none. No hop
   * count: Fastify 5.12 trusts no peer for one (a hop count cannot tell a proxy from a client).
   */
  @IsString()
  @Matches(/^$|^[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*$/, {
    message: 'TRUST_PROXY must be proxy addresses/CIDRs, e.g. 10.0.0.0/8,127.0.0.1 (a hop count is not accepted)',
  })
  TRUST_PROXY = '';

  /** Browser origins allowed by CORS, comma-separated (https://app.example.com). Empty: CORS off. */
  @IsString()
  @Matches(/^$|^[^,\s]+(,[^,\s]+)*$/, { message: 'CORS_ORIGINS must be a comma-separated list of origins' })
  CORS_ORIGINS = '';

  /** The whole request (headers and body) must arrive within this; else 408 and the connection closes. */
  @Transform(toInt)
  @Max(600_000)
  @Min(1000)
  @IsInt()
  REQUEST_TIMEOUT_MS = 30_000;

  /** A socket idle this long is closed; above MAX_WAIT_MS (30 s), which a GET ?wait_ms or a POST /work/claim may hold. */
  @Transform(toInt)
  @Max(3_600_000)
  @Min(MAX_WAIT_MS + 1000)
  @IsInt()
  CONNECTION_TIMEOUT_MS = 60_000;

  /** An idle keep-alive connection is closed after this (above common load balancer idle timeouts). */
  @Transform(toInt)
  @Max(600_000)
  @Min(1000)
  @IsInt()
  KEEP_ALIVE_TIMEOUT_MS = 72_000;

  /** Open connections at most; more are closed at once. */
  @Transform(toInt)
  @Max(1_000_000)
  @Min(1)
  @IsInt()
  MAX_CONNECTIONS = 1024;

  /**
   * Open connections one client address may hold at most (an IPv6 client: its /64); more are closed
   * at once, so one address cannot take every connection. TRUST_PROXY's proxies are exempt. 0 = no share.
   */
  @Transform(toInt)
  @Max(1_000_000)
  @Min(0)
  @IsInt()
  MAX_CONNECTIONS_PER_ADDRESS = 256;

  /** Rules between the api's variables; each message names them. */
  static crossChecks(env: ApiEnv): string[] {
    const problems: string[] = [];
    if (env.AUTH_MODE === 'none' && !isLoopback(env.HOST) && !env.ALLOW_UNAUTHENTICATED) {
      problems.push(
        `AUTH_MODE=none on HOST=${env.HOST}: anyone who reaches it may submit, read and purge tasks. Use AUTH_MODE=api-key, bind HOST=127.0.0.1, or set ALLOW_UNAUTHENTICATED=true if a gateway in front authenticates`,
      );
    }
    if (env.AUTH_MODE === 'jwt' || env.AUTH_MODE === 'both') problems.push(...jwtProblems(env));
    for (const origin of env.CORS_ORIGINS.split(',').filter(Boolean)) {
      if (!ORIGIN.test(origin)) problems.push(`CORS_ORIGINS: ${origin} is not an origin like https://app.example.com`);
    }
    for (const proxy of env.TRUST_PROXY.split(',').filter(Boolean)) {
      const [address, bits] = proxy.split('/');
      if (!PROXY.test(proxy) || !isIP(address) || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
        problems.push(`TRUST_PROXY: ${proxy} is not an address or CIDR`);
      }
    }
    return problems;
  }
}

function jwtProblems(env: ApiEnv): string[] {
  const problems: string[] = [];
  const mode = `AUTH_MODE=${env.AUTH_MODE}`;
  const keys = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'].filter((name) => env[name as keyof ApiEnv] !== '');
  if (keys.length !== 1) {
    problems.push(`${mode} needs exactly one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL (${keys.length} given)`);
  }
  if (!env.JWT_ISSUER) problems.push(`${mode} needs JWT_ISSUER (the iss every token must carry)`);
  if (!env.JWT_AUDIENCE) problems.push(`${mode} needs JWT_AUDIENCE (the aud every token must carry)`);
  if (env.JWT_SECRET && Buffer.byteLength(env.JWT_SECRET) < 32) {
    problems.push('JWT_SECRET must be at least 32 bytes (e.g. openssl rand -hex 32)');
  }
  if (keys.length !== 1) return problems;
  let possible: string[];
  try {
    possible = algorithmsFor({
      secret: env.JWT_SECRET || undefined,
      publicKey: env.JWT_PUBLIC_KEY || undefined,
      jwksUrl: env.JWT_JWKS_URL || undefined,
    });
  } catch (error) {
    return [...problems, `JWT_PUBLIC_KEY: ${(error as Error).message.replace(/^JWT_PUBLIC_KEY /, '')}`];
  }
  for (const algorithm of env.JWT_ALGORITHMS.split(',').filter(Boolean)) {
    if (!possible.includes(algorithm)) {
      problems.push(
        `JWT_ALGORITHMS: ${algorithm} cannot be verified with ${keys[0]} (it takes ${possible.join(', ')})`,
      );
    }
  }
  return problems;
}
