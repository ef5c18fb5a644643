import { generateKeyPairSync } from 'node:crypto';
import { validateEnv } from '@app/config';
import { ApiEnv, isLoopback } from './api.env';

const validate = validateEnv(ApiEnv);
const problems = (env: Record<string, string>): string => {
  try {
    validate(env);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('ApiEnv', () => {
  it('is secure by default: API keys, a rate limit, quotas, bounded timeouts, no CORS, no trusted proxy', () => {
    expect(validate({})).toMatchObject({
      AUTH_MODE: 'api-key',
      HOST: '0.0.0.0',
      RATE_LIMIT_MAX: 600_000,
      RATE_LIMIT_UNAUTHENTICATED_MAX: 60,
      QUOTA_TASKS: 10_000_000,
      REQUEST_TIMEOUT_MS: 30_000,
      CONNECTION_TIMEOUT_MS: 60_000,
      MAX_CONNECTIONS: 1024,
      CORS_ORIGINS: '',
      TRUST_PROXY: '',
    });
  });

  it('refuses AUTH_MODE=none on an address other machines reach, unless ALLOW_UNAUTHENTICATED says so', () => {
    expect(problems({ AUTH_MODE: 'none' })).toContain('AUTH_MODE=none on HOST=0.0.0.0');
    expect(problems({ AUTH_MODE: 'none', HOST: '10.1.2.3' })).toContain('AUTH_MODE=none on HOST=10.1.2.3');
    expect(problems({ AUTH_MODE: 'none', HOST: '127.0.0.1' })).toBe('');
    expect(problems({ AUTH_MODE: 'none', HOST: '::1' })).toBe('');
    expect(problems({ AUTH_MODE: 'none', HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' })).toBe('');
    expect([isLoopback('localhost'), isLoopback('127.5.0.1'), isLoopback('0.0.0.0'), isLoopback('::')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('needs one JWT key, an issuer and an audience in jwt mode, and a secret of at least 32 bytes', () => {
    const message = problems({ AUTH_MODE: 'jwt', JWT_SECRET: 'short' });
    expect(message).toContain('JWT_ISSUER');
    expect(message).toContain('JWT_AUDIENCE');
    expect(message).toContain('JWT_SECRET must be at least 32 bytes');
    expect(message).not.toContain('short');
    expect(problems({ AUTH_MODE: 'both', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' })).toContain('exactly one of JWT_SECRET');
    expect(
      problems({
        AUTH_MODE: 'jwt',
        JWT_ISSUER: 'i',
        JWT_AUDIENCE: 'a',
        JWT_SECRET: 'x'.repeat(32),
        JWT_JWKS_URL: 'https://a/j',
      }),
    ).toContain('(2 given)');
    expect(problems({ AUTH_MODE: 'jwt', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', JWT_SECRET: 'x'.repeat(32) })).toBe('');
  });

  it('refuses algorithms the key cannot verify (no algorithm confusion), and never none', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const base = { AUTH_MODE: 'jwt', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' };
    expect(problems({ ...base, JWT_PUBLIC_KEY: pem, JWT_ALGORITHMS: 'HS256' })).toContain(
      'JWT_ALGORITHMS: HS256 cannot be verified with JWT_PUBLIC_KEY (it takes ES256, ES384, ES512)',
    );
    expect(problems({ ...base, JWT_SECRET: 'x'.repeat(32), JWT_ALGORITHMS: 'RS256' })).toContain(
      'RS256 cannot be verified with JWT_SECRET',
    );
    expect(problems({ ...base, JWT_SECRET: 'x'.repeat(32), JWT_ALGORITHMS: 'none' })).toContain(
      'JWT_ALGORITHMS must be a comma-separated list',
    );
    expect(problems({ ...base, JWT_PUBLIC_KEY: pem })).toBe('');
    expect(problems({ ...base, JWT_PUBLIC_KEY: 'not a key' })).toContain('JWT_PUBLIC_KEY:');
  });

  it('checks the bootstrap key, CORS origins and trusted proxies, never printing the key', () => {
    const message = problems({
      BOOTSTRAP_ADMIN_KEY: 'tq_123_secretsecret',
      CORS_ORIGINS: 'https://ok.example.com,*',
      TRUST_PROXY: '10.0.0.0/8,not-an-ip',
    });
    expect(message).toContain(
      'BOOTSTRAP_ADMIN_KEY="***": BOOTSTRAP_ADMIN_KEY must be tq_<12 hex digits>_<64 hex digits>',
    );
    expect(message).not.toContain('secretsecret');
    expect(problems({ CORS_ORIGINS: 'https://ok.example.com,*' })).toContain('CORS_ORIGINS: * is not an origin');
    expect(problems({ TRUST_PROXY: '10.0.0.0/8,not-an-ip' })).toContain('TRUST_PROXY must be');
    expect(problems({ TRUST_PROXY: '10.0.0.0/8,999.1.1.1' })).toContain(
      'TRUST_PROXY: 999.1.1.1 is not an address or CIDR',
    );
    expect(problems({ TRUST_PROXY: '10.0.0.1', CORS_ORIGINS: 'http://localhost:3000' })).toBe('');
    expect(problems({ TRUST_PROXY: '2' })).toContain('TRUST_PROXY: 2 is not an address or CIDR');
  });

  it('keeps the socket timeout above the longest wait_ms', () => {
    expect(problems({ CONNECTION_TIMEOUT_MS: '30000' })).toContain('CONNECTION_TIMEOUT_MS must not be less than 31000');
  });
});
