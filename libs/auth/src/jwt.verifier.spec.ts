import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { JwtOptions } from './auth.options';
import { JwtRejected, JwtVerifier } from './jwt.verifier';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const base: JwtOptions = { algorithms: [], issuer: 'https://issuer.test', audience: 'taskq', clockToleranceSeconds: 0 };
const now = () => Math.floor(Date.now() / 1000);

function token(
  claims: Record<string, unknown>,
  key: Uint8Array | KeyObject = new TextEncoder().encode(SECRET),
  alg = 'HS256',
): Promise<string> {
  const defaults = { iss: 'https://issuer.test', aud: 'taskq', sub: 'svc-a', iat: now(), exp: now() + 60 };
  return new SignJWT({ ...defaults, scope: 'submit read', ...claims }).setProtectedHeader({ alg }).sign(key);
}

async function refusal(verifier: JwtVerifier, jwt: string): Promise<string> {
  try {
    await verifier.verify(jwt);
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(JwtRejected);
    return (error as Error).message;
  }
}

function unsigned(claims: Record<string, unknown>): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

describe('JwtVerifier', () => {
  const hs = new JwtVerifier({ ...base, secret: SECRET });

  it('accepts a good token: scopes from scope, queues from taskq_queues, a subject that hides iss and sub', async () => {
    const principal = await hs.verify(await token({ taskq_queues: ['emails'] }));
    expect(principal).toMatchObject({ kind: 'jwt', name: 'svc-a', scopes: ['submit', 'read'], queues: ['emails'] });
    expect(principal.subject).toMatch(/^jwt:[0-9a-f]{24}$/);
    expect((await hs.verify(await token({ scope: undefined, scp: ['admin', 'other:thing'] }))).scopes).toEqual([
      'admin',
    ]);
    expect((await hs.verify(await token({}))).queues).toBeNull();
  });

  it('refuses expired, not-yet-valid, wrong-audience, wrong-issuer, forged and alg:none tokens', async () => {
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://issuer.test')
      .setAudience('taskq')
      .setSubject('svc-a')
      .setExpirationTime(now() - 10)
      .sign(new TextEncoder().encode(SECRET));
    expect(await refusal(hs, expired)).toBe('JWT has expired (exp)');
    expect(await refusal(hs, await token({ nbf: now() + 600 }))).toBe('JWT is not valid yet (nbf)');
    expect(await refusal(hs, await token({ aud: 'someone-else' }))).toBe('JWT audience (aud) is not this api');
    expect(await refusal(hs, await token({ iss: 'https://evil.test' }))).toBe('JWT issuer (iss) is not trusted');
    expect(await refusal(hs, await token({}, new TextEncoder().encode('another-secret-of-at-least-32-bytes')))).toBe(
      'JWT signature is invalid',
    );
    const none = unsigned({ iss: 'https://issuer.test', aud: 'taskq', sub: 'x', exp: now() + 60, scope: 'admin' });
    expect(await refusal(hs, none)).not.toBe('accepted');
    expect(await refusal(hs, 'not.a.jwt')).not.toBe('accepted');
  });

  it('refuses a token without exp or sub, and one whose taskq_queues could widen access', async () => {
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://issuer.test')
      .setAudience('taskq')
      .setSubject('svc-a')
      .sign(new TextEncoder().encode(SECRET));
    expect(await refusal(hs, noExp)).toBe('JWT claim exp is missing or invalid');
    expect(await refusal(hs, await token({ taskq_queues: 'emails' }))).toBe(
      'JWT claim taskq_queues must be a list of queue names',
    );
    expect(await refusal(hs, await token({ taskq_queues: ['Bad{Q}'] }))).toBe(
      'JWT claim taskq_queues must be a list of queue names',
    );
  });

  it('takes its own limits from taskq_rate_limit and taskq_quota; absent or null: the defaults', async () => {
    const limited = await hs.verify(
      await token({
        taskq_rate_limit: { max: 500, per_ms: 1000 },
        taskq_quota: { tasks: 1_000_000, per_seconds: 3600 },
      }),
    );
    expect(limited.limits).toEqual({
      rateLimit: { max: 500, perMs: 1000 },
      quota: { tasks: 1_000_000, payloadBytes: null, perSeconds: 3600 },
    });
    expect((await hs.verify(await token({}))).limits).toEqual({ rateLimit: null, quota: null });
    expect((await hs.verify(await token({ taskq_rate_limit: null, taskq_quota: null }))).limits).toEqual({
      rateLimit: null,
      quota: null,
    });
  });

  it('refuses a token whose limit claims are malformed, naming the claim and the rule', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ taskq_rate_limit: '500/1s' }, 'JWT claim taskq_rate_limit must be an object {"max", "per_ms"}, or null'],
      [
        { taskq_rate_limit: { max: 500 } },
        'JWT claim taskq_rate_limit.per_ms must be an integer from 1000 to 86400000',
      ],
      [
        { taskq_rate_limit: { max: 0, per_ms: 1000 } },
        'JWT claim taskq_rate_limit.max must be an integer from 1 to 10000000',
      ],
      [
        { taskq_rate_limit: { max: 1.5, per_ms: 1000 } },
        'JWT claim taskq_rate_limit.max must be an integer from 1 to 10000000',
      ],
      [
        { taskq_rate_limit: { max: 5, per_ms: 1000, burst: 9 } },
        'JWT claim taskq_rate_limit.burst is not a field of {"max", "per_ms"}',
      ],
      [{ taskq_quota: { per_seconds: 60 } }, 'JWT claim taskq_quota needs tasks, payload_bytes or both'],
      [
        { taskq_quota: { tasks: '5', per_seconds: 60 } },
        'JWT claim taskq_quota.tasks must be an integer from 1 to 1000000000',
      ],
      [{ taskq_quota: { tasks: 5 } }, 'JWT claim taskq_quota.per_seconds must be an integer from 1 to 2592000'],
      [
        { taskq_quota: [5, 60] },
        'JWT claim taskq_quota must be an object {"tasks"?, "payload_bytes"?, "per_seconds"}, or null',
      ],
    ];
    for (const [claims, message] of cases) expect(await refusal(hs, await token(claims))).toBe(message);
  });

  it('with a public key: accepts its tokens, refuses an HS256 token signed with the public key (algorithm confusion)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rs = new JwtVerifier({ ...base, publicKey: pem });
    expect((await rs.verify(await token({}, privateKey, 'RS256'))).name).toBe('svc-a');
    const confused = await token({}, new TextEncoder().encode(pem), 'HS256');
    expect(await refusal(rs, confused)).toBe('JWT algorithm is not accepted');
    // Even told to accept HS256, jose will not use an RSA public key as an HMAC secret.
    const lax = new JwtVerifier({ ...base, publicKey: pem, algorithms: ['RS256', 'HS256'] });
    expect(await refusal(lax, confused)).not.toBe('accepted');
  });
});
