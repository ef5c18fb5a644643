import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { AppProcess, http, JsonResponse, waitFor } from '@app/testing';
import { bearer, createKeyFromShell, keysCli, writesOf } from './api-keys';
import { Stack } from './harness';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const JWT_SECRET = randomBytes(32).toString('hex');
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'taskq';
const newKey = () => `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;
const seconds = () => Math.floor(Date.now() / 1000);

/** Every credential a test used: none may show up in a log line. */
const secrets: string[] = [];

function jwt(claims: Record<string, unknown>, secret = JWT_SECRET): Promise<string> {
  const claimsWithDefaults = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'svc-e2e',
    iat: seconds(),
    exp: seconds() + 300,
    ...claims,
  };
  return new SignJWT(claimsWithDefaults)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret))
    .then((token) => {
      secrets.push(token);
      return token;
    });
}

/** A key from `npm run keys -- create <args>`, remembered as a secret no log may show. */
function createKey(stack: Stack, args: string[]): string {
  const key = createKeyFromShell(stack, args);
  secrets.push(key);
  return key;
}

function expect401(res: JsonResponse, invalid: boolean): void {
  expect(res.status).toBe(401);
  expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.any(String) });
  const challenge = res.headers.get('www-authenticate') ?? '';
  expect(challenge.startsWith('Bearer realm="taskq"')).toBe(true);
  expect(challenge.includes('error="invalid_token"')).toBe(invalid);
}

describe('authentication and authorization (AUTH_MODE=both, two api replicas on one Redis)', () => {
  const admin = newKey();
  secrets.push(admin);
  let stack: Stack;
  let second: AppProcess;
  let apis: AppProcess[];
  let submitter: string;
  let reader: string;
  let queueAdmin: string;
  let document: Record<string, any>;

  beforeAll(async () => {
    stack = new Stack({
      AUTH_MODE: 'both',
      BOOTSTRAP_ADMIN_KEY: admin,
      JWT_SECRET,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      RATE_LIMIT_MAX: '100000',
      RATE_LIMIT_UNAUTHENTICATED_MAX: '100000',
      // Everything the api can log, so a credential that leaks into any line is caught.
      LOG_LEVEL: 'trace',
    });
    await stack.startApi();
    second = await AppProcess.start('api', stack.baseEnv);
    apis = [stack.api, second];
    await waitFor(
      async () => (await http('GET', `${stack.api.url}/auth/keys`, undefined, bearer(admin))).status === 200,
      {
        what: 'the bootstrap admin key',
      },
    );
    submitter = createKey(stack, ['--name', 'producer', '--scopes', 'submit,read', '--queues', 'emails']);
    reader = createKey(stack, ['--name', 'dashboard', '--scopes', 'read']);
    queueAdmin = createKey(stack, ['--name', 'emails-admin', '--scopes', 'admin', '--queues', 'emails']);
    document = (await http('GET', `${stack.api.url}/docs-json`)).body;
  });
  afterAll(async () => {
    await second?.stop('SIGKILL').catch(() => undefined);
    await stack.stop();
  });

  const url = (path: string, api = stack.api) => `${api.url}${path}`;

  it('answers 401 with a WWW-Authenticate challenge on every operation that needs a scope, writing nothing; health stays open', async () => {
    const operations = Object.entries<Record<string, any>>(document.paths).flatMap(([path, item]) =>
      Object.entries<any>(item)
        .filter(([, operation]) => operation.security)
        .map(([method]) => ({
          method: method.toUpperCase(),
          path: path.replace('{id}', 'emails.00000000-0000-0000-0000-000000000000').replace('{name}', 'emails'),
        })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(18);
    const writes = await writesOf(stack, async () => {
      for (const { method, path } of operations) {
        const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;
        const res = await http(method, url(path), body);
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
        expect401(res, false);
      }
    });
    expect(writes).toEqual([]);
    for (const path of ['/health/live', '/health/ready']) expect((await http('GET', url(path))).status).toBe(200);
  });

  it('answers 401 naming the problem for a wrong, malformed or doubled credential', async () => {
    const unknown = newKey();
    const cases: [Record<string, string>, RegExp][] = [
      [{ authorization: `Bearer ${unknown}` }, /unknown, revoked or malformed API key/],
      [{ 'x-api-key': unknown }, /unknown, revoked or malformed API key/],
      [{ 'x-api-key': `${submitter.slice(0, -2)}00` }, /unknown, revoked or malformed API key/],
      [{ 'x-api-key': 'tq_short' }, /unknown, revoked or malformed API key/],
      [{ 'x-api-key': 'hunter2' }, /not an API key/],
      [{ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, /must be "Bearer/],
      [{ authorization: `Bearer ${submitter}`, 'x-api-key': submitter }, /not both/],
      [{ authorization: 'Bearer not.a.jwt' }, /JWT is malformed/],
    ];
    const writes = await writesOf(stack, async () => {
      for (const [headers, message] of cases) {
        const res = await http('GET', url('/queues'), undefined, { headers });
        expect401(res, true);
        expect(res.body.message).toMatch(message);
      }
    });
    expect(writes).toEqual([]);
  });

  it('takes a valid JWT and refuses expired, not-yet-valid, wrong-audience, forged and alg:none tokens with 401', async () => {
    expect((await http('GET', url('/queues'), undefined, bearer(await jwt({ scope: 'read' })))).status).toBe(200);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'x', exp: seconds() + 60, scope: 'admin' })}.`;
    secrets.push(unsigned);
    const cases: [string, RegExp][] = [
      [await jwt({ scope: 'admin', exp: seconds() - 60, iat: seconds() - 120 }), /expired/],
      [await jwt({ scope: 'admin', nbf: seconds() + 600 }), /not valid yet/],
      [await jwt({ scope: 'admin', aud: 'another-api' }), /audience/],
      [await jwt({ scope: 'admin', iss: 'https://evil.test' }), /issuer/],
      [await jwt({ scope: 'admin' }, randomBytes(32).toString('hex')), /signature is invalid/],
      [unsigned, /JWT/],
    ];
    const writes = await writesOf(stack, async () => {
      for (const [token, message] of cases) {
        const res = await http('DELETE', url('/dlq?queue=emails'), undefined, bearer(token));
        expect401(res, true);
        expect(res.body.message).toMatch(message);
      }
    });
    expect(writes).toEqual([]);
  });

  it('answers 403 naming the missing scope, writing nothing', async () => {
    const readToken = await jwt({ scope: 'read' });
    const cases: [string, string, string, unknown, string][] = [
      [reader, 'POST', '/submit', { task_type: 'echo', payload: 1 }, 'submit'],
      [reader, 'POST', '/submit/batch', { tasks: [{ task_type: 'echo', payload: 1 }] }, 'submit'],
      [submitter, 'POST', '/queues/emails/pause', undefined, 'admin'],
      [submitter, 'POST', '/auth/keys', { name: 'x', scopes: ['admin'] }, 'admin'],
      [readToken, 'DELETE', '/dlq?queue=emails', undefined, 'admin'],
      [readToken, 'POST', '/tasks/emails.00000000-0000-0000-0000-000000000000/cancel', undefined, 'submit'],
    ];
    const writes = await writesOf(stack, async () => {
      for (const [credential, method, path, body, scope] of cases) {
        const res = await http(method, url(path), body, bearer(credential));
        expect({ path, status: res.status, missing: res.body.missing_scope }).toEqual({
          path,
          status: 403,
          missing: scope,
        });
        expect(res.body.message).toContain(`needs scope ${scope}`);
      }
    });
    expect(writes).toEqual([]);
  });

  it('keeps a key restricted to queues out of every other queue: 403 naming it, and listings of its queues only', async () => {
    const other = (await http('POST', url('/submit'), { task_type: 'echo', payload: 1 }, bearer(admin))).body.task_id;
    const own = (
      await http('POST', url('/submit'), { task_type: 'echo', payload: 2, queue: 'emails' }, bearer(submitter))
    ).body.task_id;
    expect(own).toMatch(/^emails\./);
    const emailsToken = await jwt({ scope: 'submit read', taskq_queues: ['emails'] });
    const refused: [string, string, string, unknown, string][] = [
      [submitter, 'POST', '/submit', { task_type: 'echo', payload: 1 }, 'default'],
      [
        submitter,
        'POST',
        '/submit/batch',
        {
          tasks: [
            { task_type: 'echo', payload: 1, queue: 'emails' },
            { task_type: 'echo', payload: 1, queue: 'sms' },
          ],
        },
        'sms',
      ],
      [submitter, 'GET', `/tasks/${other}`, undefined, 'default'],
      [submitter, 'POST', `/tasks/${other}/cancel`, undefined, 'default'],
      [submitter, 'GET', '/tasks?status=queued&queue=default', undefined, 'default'],
      [submitter, 'GET', '/queues/default', undefined, 'default'],
      [submitter, 'GET', '/dlq?queue=default', undefined, 'default'],
      [queueAdmin, 'POST', '/queues/default/pause', undefined, 'default'],
      [queueAdmin, 'DELETE', '/dlq?queue=default', undefined, 'default'],
      [queueAdmin, 'POST', `/dlq/${other}/requeue`, undefined, 'default'],
      [emailsToken, 'GET', `/tasks/${other}`, undefined, 'default'],
    ];
    const writes = await writesOf(stack, async () => {
      for (const [credential, method, path, body, queue] of refused) {
        const res = await http(method, url(path), body, bearer(credential));
        expect({ path, status: res.status, queue: res.body.queue }).toEqual({ path, status: 403, queue });
      }
      // Key management needs an admin without a queue restriction.
      const mint = await http('POST', url('/auth/keys'), { name: 'wide', scopes: ['admin'] }, bearer(queueAdmin));
      expect(mint.status).toBe(403);
      expect(mint.body.message).toContain('without a queue restriction');
    });
    expect(writes).toEqual([]);

    for (const credential of [submitter, emailsToken]) {
      const tasks = await http('GET', url('/tasks?status=queued'), undefined, bearer(credential));
      expect(tasks.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([own]);
      const queues = await http('GET', url('/queues'), undefined, bearer(credential));
      expect(queues.body.queues.map((q: { queue: string }) => q.queue)).toEqual(['emails']);
      expect((await http('GET', url('/dlq'), undefined, bearer(credential))).status).toBe(200);
      expect((await http('GET', url(`/tasks/${own}`), undefined, bearer(credential))).status).toBe(200);
    }
    const everything = await http('GET', url('/queues'), undefined, bearer(reader));
    expect(everything.body.queues.map((q: { queue: string }) => q.queue)).toEqual(['default', 'emails']);
    expect((await http('POST', url(`/tasks/${own}/cancel`), undefined, bearer(submitter))).status).toBe(200);
  });

  it('makes a revoked key useless on every replica within a second', async () => {
    const created = await http('POST', url('/auth/keys'), { name: 'short-lived', scopes: ['read'] }, bearer(admin));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'short-lived', scopes: ['read'], queues: null });
    const key = created.body.key as string;
    secrets.push(key);
    // The second replica has read (and cached) the key before it is revoked on the first.
    expect((await http('GET', url('/queues', second), undefined, bearer(key))).status).toBe(200);
    const listed = await http('GET', url('/auth/keys'), undefined, bearer(admin));
    expect(listed.body.keys.map((k: { id: string }) => k.id)).toContain(created.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(key.slice(16));

    expect((await http('DELETE', url(`/auth/keys/${created.body.id}`), undefined, bearer(admin))).status).toBe(204);
    expect401(await http('GET', url('/queues'), undefined, bearer(key)), true);
    await waitFor(async () => (await http('GET', url('/queues', second), undefined, bearer(key))).status === 401, {
      timeoutMs: 1000,
      intervalMs: 20,
      what: 'the second replica to refuse the revoked key',
    });
    expect((await http('DELETE', url(`/auth/keys/${created.body.id}`), undefined, bearer(admin))).status).toBe(404);
  });

  it('manages keys from a shell: npm run keys create, list, revoke', () => {
    const key = createKey(stack, ['--name', 'from-cli', '--scopes', 'read', '--queues', 'emails,sms']);
    const id = key.slice(3, 15);
    const list = keysCli(stack, ['list']);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\tfrom-cli\\tread\\temails,sms\\t`, 'm'));
    expect(list.stdout).not.toContain(key.slice(16));
    expect(keysCli(stack, ['revoke', id])).toMatchObject({ status: 0 });
    expect(keysCli(stack, ['revoke', id])).toMatchObject({ status: 1 });
    const usage = keysCli(stack, ['create', '--name', 'x', '--scopes', 'everything']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--scopes must list some of submit, read, work, admin');
  });

  it('refuses a client without credentials before reading its body: a request announcing 16 MiB gets its 401 with none sent', async () => {
    const { port } = new URL(stack.api.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /submit/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 16777216\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer while the body was unsent: ${text}`));
      }, 10_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain('www-authenticate: bearer realm="taskq"');
  });

  it('writes no API key, key secret or token into any log line (LOG_LEVEL=trace)', () => {
    expect(secrets.length).toBeGreaterThan(10);
    const output = apis.flatMap((api) => api.output).join('\n');
    expect(output.length).toBeGreaterThan(1000);
    // The refusals were logged, by reason and address.
    expect(output).toContain('credential refused');
    const leaked = secrets.filter(
      (secret) => output.includes(secret) || (secret.startsWith('tq_') && output.includes(secret.slice(16))),
    );
    expect(leaked).toEqual([]);
    expect(output).not.toContain(JWT_SECRET);
  });
});

describe('rate limits and quotas (AUTH_MODE=api-key, two api replicas on one Redis)', () => {
  let stack: Stack;
  let second: AppProcess;

  beforeAll(async () => {
    stack = new Stack({
      AUTH_MODE: 'api-key',
      RATE_LIMIT_MAX: '6',
      RATE_LIMIT_UNAUTHENTICATED_MAX: '4',
      RATE_LIMIT_WINDOW_MS: '60000',
      QUOTA_TASKS: '5',
      QUOTA_PAYLOAD_BYTES: '200',
      QUOTA_WINDOW_SECONDS: '60',
    });
    await stack.startApi();
    second = await AppProcess.start('api', stack.baseEnv);
  });
  afterAll(async () => {
    await second?.stop('SIGKILL').catch(() => undefined);
    await stack.stop();
  });

  it('answers 429 with Retry-After past the per-key limit, counted across both replicas; other keys go on', async () => {
    const busy = createKey(stack, ['--name', 'busy', '--scopes', 'read']);
    const calm = createKey(stack, ['--name', 'calm', '--scopes', 'read']);
    for (let i = 0; i < 6; i++) {
      const api = i % 2 === 0 ? stack.api : second;
      expect((await http('GET', `${api.url}/queues`, undefined, bearer(busy))).status).toBe(200);
    }
    for (const api of [stack.api, second]) {
      const res = await http('GET', `${api.url}/queues`, undefined, bearer(busy));
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      expect(res.body.message).toContain(
        'rate limit of 6 requests per 60 s (RATE_LIMIT_MAX) reached for this credential',
      );
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    expect((await http('GET', `${second.url}/queues`, undefined, bearer(calm))).status).toBe(200);
  });

  it('limits requests without a valid credential per client address (401 until then, 429 after)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const api = i % 2 === 0 ? stack.api : second;
      statuses.push((await http('GET', `${api.url}/queues`, undefined, { headers: { 'x-api-key': newKey() } })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  });

  it('holds each key to its quota of tasks and payload bytes across replicas; a refused submit writes nothing', async () => {
    const producer = createKey(stack, ['--name', 'producer', '--scopes', 'submit']);
    const task = { task_type: 'echo', payload: 1 };
    expect(
      (await http('POST', `${stack.api.url}/submit/batch`, { tasks: [task, task, task] }, bearer(producer))).status,
    ).toBe(202);
    let refused!: JsonResponse;
    const writes = await writesOf(stack, async () => {
      refused = await http('POST', `${second.url}/submit/batch`, { tasks: [task, task, task] }, bearer(producer));
    });
    expect(refused.status).toBe(429);
    expect(refused.body.message).toMatch(
      /quota of 5 tasks per 60 s \(QUOTA_TASKS\) reached \(3 used, this request needs 3\)/,
    );
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(writes).toEqual([]);
    expect((await http('POST', `${second.url}/submit/batch`, { tasks: [task, task] }, bearer(producer))).status).toBe(
      202,
    );
    const alone = await http('POST', `${stack.api.url}/submit/batch`, { tasks: Array(6).fill(task) }, bearer(producer));
    expect(alone.status).toBe(429);
    expect(alone.body.message).toContain('this request alone holds 6 tasks');

    const bulky = createKey(stack, ['--name', 'bulky', '--scopes', 'submit']);
    const big = { task_type: 'echo', payload: 'x'.repeat(148) }; // 150 bytes serialized
    expect((await http('POST', `${second.url}/submit`, big, bearer(bulky))).status).toBe(202);
    const over = await http('POST', `${stack.api.url}/submit`, big, bearer(bulky));
    expect(over.status).toBe(429);
    expect(over.body.message).toContain(
      'quota of 200 payload bytes per 60 s (QUOTA_PAYLOAD_BYTES) reached (150 used, this request needs 150)',
    );
  });
});

describe('AUTH_MODE=none', () => {
  it('refuses to start on an address other machines reach unless ALLOW_UNAUTHENTICATED=true, and warns loudly when it runs', async () => {
    const stack = new Stack({ HOST: '0.0.0.0' });
    try {
      const refused = spawnSync(process.execPath, [join(ROOT, 'dist', 'apps', 'api', 'main.js')], {
        env: { PATH: process.env.PATH ?? '', ...stack.baseEnv, PORT: '1', METRICS_PORT: '1' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('AUTH_MODE=none on HOST=0.0.0.0');
      expect(refused.stderr).toContain('ALLOW_UNAUTHENTICATED=true');

      const api = await stack.startApi({ ALLOW_UNAUTHENTICATED: 'true' });
      const warning = await waitFor(() => api.logs((line) => /NO AUTHENTICATION/.test(String(line.msg)))[0], {
        what: 'the warning',
      });
      expect(warning.level).toBe(40);
      expect((await http('POST', `${api.url}/submit`, { task_type: 'echo', payload: 1 })).status).toBe(202);
    } finally {
      await stack.stop();
    }
  });
});
