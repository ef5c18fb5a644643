import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { authKeys, LEASE_SHARE } from '@app/auth';
import { AppProcess, http, JsonResponse, waitFor } from '@app/testing';
import { bearer, createKeyFromShell, keysCli, writesOf } from './api-keys';
import { Stack } from './harness';

jest.setTimeout(180_000);

const JWT_SECRET = randomBytes(32).toString('hex');
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'taskq';
const newKey = () => `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;
const seconds = () => Math.floor(Date.now() / 1000);

function jwt(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: seconds(), exp: seconds() + 300, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(JWT_SECRET));
}

/** `n` calls of `send`, `concurrency` at a time; every status, in no particular order. */
async function burst(n: number, concurrency: number, send: (i: number) => Promise<JsonResponse>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) statuses.push((await send(next++)).status);
    }),
  );
  return statuses;
}

const countOf = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

/** A 429 with Retry-After whose message names the limit that refused it. */
function expect429(res: JsonResponse, message: string): void {
  expect({ status: res.status, message: res.body?.message }).toEqual({
    status: 429,
    message: expect.stringContaining(message),
  });
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('limits per key (AUTH_MODE=both, two api replicas on one Redis)', () => {
  const admin = newKey();
  let stack: Stack;
  let second: AppProcess;
  const task = { task_type: 'echo', payload: 1 };

  beforeAll(async () => {
    stack = new Stack({
      AUTH_MODE: 'both',
      BOOTSTRAP_ADMIN_KEY: admin,
      JWT_SECRET,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      // Small defaults, so a key's own limits show above and below them.
      RATE_LIMIT_MAX: '40',
      RATE_LIMIT_WINDOW_MS: '60000',
      QUOTA_TASKS: '20',
      QUOTA_PAYLOAD_BYTES: '0',
      QUOTA_WINDOW_SECONDS: '60',
    });
    await stack.startApi();
    second = await AppProcess.start('api', stack.baseEnv);
    await waitFor(async () => (await http('GET', url('/auth/keys'), undefined, bearer(admin))).status === 200, {
      what: 'the bootstrap admin key',
    });
    // The admin key makes many calls here: it gets a rate limit of its own, above the default.
    const own = await http(
      'PATCH',
      url(`/auth/keys/${admin.slice(3, 15)}`),
      {
        rate_limit: { max: 100_000, per_ms: 60_000 },
      },
      bearer(admin),
    );
    expect(own.status).toBe(200);
  });
  afterAll(async () => {
    await second?.stop('SIGKILL').catch(() => undefined);
    await stack.stop();
  });

  function url(path: string, api: AppProcess = stack.api): string {
    return `${api.url}${path}`;
  }

  async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
    const res = await http('POST', url('/auth/keys'), { scopes: ['submit', 'read'], ...body }, bearer(admin));
    expect(res.status).toBe(201);
    return res.body;
  }

  it("takes rate_limit and quota on POST /auth/keys, shows them in GET /auth/keys, and answers 429 naming the key's own limit, counted across both replicas", async () => {
    const limited = await createKey({ name: 'three-a-minute', rate_limit: { max: 3, per_ms: 60_000 } });
    const listed = await http('GET', url('/auth/keys', second), undefined, bearer(admin));
    expect(listed.body.keys.find((k: { id: string }) => k.id === limited.id)).toMatchObject({
      rate_limit: { max: 3, per_ms: 60_000 },
      quota: null,
    });
    for (const api of [stack.api, second, stack.api]) {
      expect((await http('GET', url('/queues', api), undefined, bearer(limited.key))).status).toBe(200);
    }
    for (const api of [second, stack.api]) {
      expect429(
        await http('GET', url('/queues', api), undefined, bearer(limited.key)),
        "rate limit of 3 requests per 60 s (the key's own rate_limit) reached for this credential",
      );
    }

    // A quota of its own: 4 tasks per 60 s, not the default's 20; a refused submit writes nothing.
    const producer = await createKey({ name: 'four-tasks', quota: { tasks: 4, per_seconds: 60 } });
    expect((await http('POST', url('/submit/batch'), { tasks: [task, task, task] }, bearer(producer.key))).status).toBe(
      202,
    );
    let refused!: JsonResponse;
    expect(
      await writesOf(stack, async () => {
        refused = await http('POST', url('/submit/batch', second), { tasks: [task, task] }, bearer(producer.key));
      }),
    ).toEqual([]);
    expect429(refused, "quota of 4 tasks per 60 s (the key's own quota.tasks) reached (3 used, this request needs 2)");
    expect((await http('POST', url('/submit', second), task, bearer(producer.key))).status).toBe(202);

    // A quota of payload bytes only: its tasks are not counted, though the default counts 20 per minute.
    const bulky = await createKey({ name: 'bytes-only', quota: { payload_bytes: 200, per_seconds: 60 } });
    const many = Array.from({ length: 25 }, () => task);
    expect((await http('POST', url('/submit/batch'), { tasks: many }, bearer(bulky.key))).status).toBe(202);
    expect429(
      await http('POST', url('/submit', second), { task_type: 'echo', payload: 'x'.repeat(198) }, bearer(bulky.key)),
      "quota of 200 payload bytes per 60 s (the key's own quota.payload_bytes) reached (25 used, this request needs 200)",
    );
  });

  it('applies PATCH /auth/keys/{id} on every replica within a second; null gives the key back the defaults', async () => {
    const key = await createKey({ name: 'changing', rate_limit: { max: 2, per_ms: 60_000 } });
    expect((await http('GET', url('/queues', second), undefined, bearer(key.key))).status).toBe(200);
    expect((await http('GET', url('/queues', second), undefined, bearer(key.key))).status).toBe(200);
    expect429(await http('GET', url('/queues', second), undefined, bearer(key.key)), "(the key's own rate_limit)");

    // The second replica read (and cached) the key's record just now; the change is made on the first.
    const raised = await http(
      'PATCH',
      url(`/auth/keys/${key.id}`),
      { rate_limit: { max: 1000, per_ms: 60_000 } },
      bearer(admin),
    );
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({
      id: key.id,
      name: 'changing',
      rate_limit: { max: 1000, per_ms: 60_000 },
      quota: null,
    });
    await waitFor(async () => (await http('GET', url('/queues', second), undefined, bearer(key.key))).status === 200, {
      timeoutMs: 1000,
      intervalMs: 20,
      what: 'the second replica to apply the raised limit',
    });

    // A quota of its own, then null: the default (20 tasks per 60 s, the same window) applies, with the count so far.
    const quota = await http(
      'PATCH',
      url(`/auth/keys/${key.id}`),
      { quota: { tasks: 1, per_seconds: 60 } },
      bearer(admin),
    );
    expect(quota.body).toMatchObject({
      rate_limit: { max: 1000, per_ms: 60_000 },
      quota: { tasks: 1, payload_bytes: null, per_seconds: 60 },
    });
    // Polled slowly: each submit the replica still accepts under the default counts.
    await waitFor(async () => (await http('POST', url('/submit', second), task, bearer(key.key))).status === 429, {
      timeoutMs: 1000,
      intervalMs: 100,
      what: 'the second replica to apply the quota',
    });
    expect429(await http('POST', url('/submit'), task, bearer(key.key)), "(the key's own quota.tasks)");
    const cleared = await http('PATCH', url(`/auth/keys/${key.id}`), { quota: null }, bearer(admin));
    expect(cleared.body).toMatchObject({ rate_limit: { max: 1000, per_ms: 60_000 }, quota: null });
    await waitFor(async () => (await http('POST', url('/submit', second), task, bearer(key.key))).status === 202, {
      timeoutMs: 1000,
      intervalMs: 50,
      what: 'the second replica to apply the default quota',
    });
    const unrated = await http('PATCH', url(`/auth/keys/${key.id}`), { rate_limit: null }, bearer(admin));
    expect(unrated.body).toMatchObject({ rate_limit: null, quota: null });
    const listed = await http('GET', url('/auth/keys', second), undefined, bearer(admin));
    expect(listed.body.keys.find((k: { id: string }) => k.id === key.id)).toMatchObject({
      rate_limit: null,
      quota: null,
    });
  });

  it('checks limits like every other body: 400 naming the field and rule, 404 for no live key, nothing written', async () => {
    const key = await createKey({ name: 'target' });
    const cases: [string, string, unknown, string[]][] = [
      [
        'POST',
        '/auth/keys',
        { name: 'x', scopes: ['read'], rate_limit: { max: 0, per_ms: 1000 } },
        ['rate_limit.max min'],
      ],
      [
        'POST',
        '/auth/keys',
        { name: 'x', scopes: ['read'], rate_limit: { max: 5, per_ms: 10 } },
        ['rate_limit.per_ms min'],
      ],
      ['POST', '/auth/keys', { name: 'x', scopes: ['read'], quota: { per_seconds: 60 } }, ['quota.tasks isPresent']],
      [
        'POST',
        '/auth/keys',
        { name: 'x', scopes: ['read'], quota: '1000/1h' },
        ['quota isObject', 'quota nestedValidation'],
      ],
      ['PATCH', `/auth/keys/${key.id}`, { quota: { tasks: 5, per_seconds: 60 * 86_400 } }, ['quota.per_seconds max']],
      [
        'PATCH',
        `/auth/keys/${key.id}`,
        { rate_limit: { max: 5, per_ms: 1000, burst: 2 } },
        ['rate_limit.burst unknownField'],
      ],
      ['PATCH', `/auth/keys/${key.id}`, { name: 'renamed' }, ['name unknownField']],
      ['PATCH', `/auth/keys/${key.id}`, {}, ['body minProperties']],
    ];
    const writes = await writesOf(stack, async () => {
      for (const [method, path, body, errors] of cases) {
        const res = await http(method, url(path), body, bearer(admin));
        const got = (res.body.errors ?? []).map((e: { field: string; rule: string }) => `${e.field} ${e.rule}`);
        expect({ method, body, status: res.status, errors: got }).toEqual({ method, body, status: 400, errors });
      }
      for (const id of ['000000000000', 'not-an-id']) {
        const res = await http('PATCH', url(`/auth/keys/${id}`), { rate_limit: null }, bearer(admin));
        expect({ id, status: res.status }).toEqual({ id, status: 404 });
      }
    });
    expect(writes).toEqual([]);
    // A revoked key's limits cannot be changed (nor the key brought back).
    expect((await http('DELETE', url(`/auth/keys/${key.id}`), undefined, bearer(admin))).status).toBe(204);
    expect((await http('PATCH', url(`/auth/keys/${key.id}`), { rate_limit: null }, bearer(admin))).status).toBe(404);
  });

  it('takes a JWT’s own limits from taskq_rate_limit and taskq_quota, and refuses a token whose limit claim is malformed', async () => {
    const rated = await jwt({ sub: 'svc-rated', scope: 'read', taskq_rate_limit: { max: 2, per_ms: 60_000 } });
    expect((await http('GET', url('/queues'), undefined, bearer(rated))).status).toBe(200);
    expect((await http('GET', url('/queues', second), undefined, bearer(rated))).status).toBe(200);
    expect429(
      await http('GET', url('/queues'), undefined, bearer(rated)),
      "rate limit of 2 requests per 60 s (the token's taskq_rate_limit) reached for this credential",
    );

    const quoted = await jwt({ sub: 'svc-quota', scope: 'submit', taskq_quota: { tasks: 1, per_seconds: 60 } });
    expect((await http('POST', url('/submit'), task, bearer(quoted))).status).toBe(202);
    expect429(
      await http('POST', url('/submit', second), task, bearer(quoted)),
      "quota of 1 tasks per 60 s (the token's taskq_quota.tasks) reached",
    );

    const malformed = await jwt({ sub: 'svc-bad', scope: 'read', taskq_quota: { tasks: 5, per_seconds: 0 } });
    const res = await http('GET', url('/queues'), undefined, bearer(malformed));
    expect(res.status).toBe(401);
    expect(res.body.message).toBe(
      'Invalid credential: JWT claim taskq_quota.per_seconds must be an integer from 1 to 2592000',
    );
  });

  it('npm run keys -- create --rate 500/1s --quota-tasks 1000000/1h, set-limits, and list shows the limits', async () => {
    const key = createKeyFromShell(stack, [
      '--name',
      'shell',
      '--scopes',
      'submit',
      '--rate',
      '500/1s',
      '--quota-tasks',
      '1000000/1h',
    ]);
    const id = key.slice(3, 15);
    const listed = await http('GET', url('/auth/keys'), undefined, bearer(admin));
    expect(listed.body.keys.find((k: { id: string }) => k.id === id)).toMatchObject({
      rate_limit: { max: 500, per_ms: 1000 },
      quota: { tasks: 1_000_000, payload_bytes: null, per_seconds: 3600 },
    });
    expect(keysCli(stack, ['list']).stdout).toMatch(
      new RegExp(`^${id}\\tshell\\tsubmit\\t\\*\\t500/1s\\t1000000 tasks/1h\\t`, 'm'),
    );

    const changed = keysCli(stack, ['set-limits', id, '--rate', 'default', '--quota-bytes', '10GiB/1h']);
    expect(changed).toMatchObject({ status: 0 });
    expect(changed.stderr).toContain('rate default, quota 10GiB/1h');
    expect(keysCli(stack, ['list']).stdout).toMatch(
      new RegExp(`^${id}\\tshell\\tsubmit\\t\\*\\tdefault\\t10GiB/1h\\t`, 'm'),
    );

    const usage: [string[], string][] = [
      [['create', '--name', 'x', '--scopes', 'read', '--rate', '500'], '--rate must look like 500/1s'],
      [['create', '--name', 'x', '--scopes', 'read', '--rate', '0/1s'], 'rate_limit.max must be an integer from 1'],
      [['set-limits', id], 'set-limits needs --rate, --quota-tasks or --quota-bytes'],
      [['set-limits', id, '--quota-tasks', '5/1m', '--quota-bytes', '1MiB/1h'], 'give both the same'],
    ];
    for (const [args, message] of usage) {
      const result = keysCli(stack, args);
      expect({ args, status: result.status }).toEqual({ args, status: 2 });
      expect(result.stderr).toContain(message);
    }
    expect(keysCli(stack, ['set-limits', '000000000000', '--rate', '1/1s'])).toMatchObject({ status: 1 });
  });
});

describe('defaults that never stop a normal producer', () => {
  /** The producer the defaults must never refuse: 2,000 single-task submits a second for an hour, payloads of 1 KiB. */
  const PRODUCER = { perSecond: 2000, seconds: 3600, payloadBytes: 1024 };

  it('lets one key without limits of its own submit 2,000 requests/s for an hour: the api’s resolved defaults, and more than the old limit with no 429', async () => {
    const admin = newKey();
    // Every limit left to its default (the stacks of other suites turn the rate limit off).
    const stack = new Stack({
      AUTH_MODE: 'api-key',
      BOOTSTRAP_ADMIN_KEY: admin,
      RATE_LIMIT_MAX: '',
      QUOTA_TASKS: '',
      QUOTA_PAYLOAD_BYTES: '',
      QUOTA_WINDOW_SECONDS: '',
      RATE_LIMIT_WINDOW_MS: '',
    });
    try {
      const api = await stack.startApi();
      const [line] = await waitFor(
        () => {
          const found = api.logs((entry) => entry.default_limits !== undefined);
          return found.length ? found : undefined;
        },
        { what: 'the default limits at boot' },
      );
      const { rate_limit: rate, quota } = line.default_limits as {
        rate_limit: { max: number; per_ms: number };
        quota: { tasks: number; payload_bytes: number; per_seconds: number };
      };
      // A fixed window of W counts at most min(W, the hour) of the producer's requests.
      const inWindow = (windowSeconds: number) => PRODUCER.perSecond * Math.min(windowSeconds, PRODUCER.seconds);
      expect(rate.max).toBeGreaterThanOrEqual(inWindow(rate.per_ms / 1000));
      expect(quota.tasks).toBeGreaterThanOrEqual(inWindow(quota.per_seconds));
      expect(quota.payload_bytes).toBeGreaterThanOrEqual(inWindow(quota.per_seconds) * PRODUCER.payloadBytes);

      // And the running api holds to them: more requests than the old default allowed a key per minute (1,200).
      await waitFor(async () => (await http('GET', `${api.url}/auth/keys`, undefined, bearer(admin))).status === 200, {
        what: 'the bootstrap admin key',
      });
      const created = await http(
        'POST',
        `${api.url}/auth/keys`,
        { name: 'producer', scopes: ['submit'] },
        bearer(admin),
      );
      const payload = 'x'.repeat(PRODUCER.payloadBytes - 2);
      const statuses = await burst(1300, 16, () =>
        http('POST', `${api.url}/submit`, { task_type: 'echo', payload }, bearer(created.body.key)),
      );
      expect(countOf(statuses)).toEqual({ 202: 1300 });
      // Counted in the windows the api logged: the rate limit per minute, the quota per hour; each counter
      // holds the requests served and what the api replica leased beyond them (LEASE_SHARE of the limit).
      const keys = authKeys(stack.prefix);
      const subject = `key:${created.body.id}`;
      const counted = await stack.redis.hgetall(keys.quota(subject, quota.per_seconds));
      expect(Number(counted.tasks)).toBeGreaterThanOrEqual(1300);
      expect(Number(counted.tasks)).toBeLessThanOrEqual(1300 + quota.tasks * LEASE_SHARE);
      expect(Number(counted.bytes)).toBeGreaterThanOrEqual(1300 * PRODUCER.payloadBytes);
      expect(Number(counted.bytes)).toBeLessThanOrEqual(
        (1300 + 1) * PRODUCER.payloadBytes + quota.payload_bytes * LEASE_SHARE,
      );
      const requests = Number(await stack.redis.hget(keys.rate(subject, rate.per_ms), 'requests'));
      expect(requests).toBeGreaterThanOrEqual(1300);
      expect(requests).toBeLessThanOrEqual(1300 + rate.max * LEASE_SHARE);
    } finally {
      await stack.stop();
    }
  });

  it('never rate limits AUTH_MODE=none on a loopback HOST, even past RATE_LIMIT_MAX; on another address it is limited per client', async () => {
    const stack = new Stack({ AUTH_MODE: 'none', HOST: '127.0.0.1', RATE_LIMIT_MAX: '' });
    try {
      const api = await stack.startApi();
      expect(api.logs((entry) => entry.msg === 'no rate limit: AUTH_MODE=none on a loopback HOST')).toHaveLength(1);
      // More than the old default (1,200 a minute per client address) with the shipped configuration.
      expect(countOf(await burst(1300, 16, () => http('GET', `${api.url}/queues`)))).toEqual({ 200: 1300 });
      await api.stop('SIGKILL');

      // And however low RATE_LIMIT_MAX is set.
      const low = await stack.startApi({ RATE_LIMIT_MAX: '5' });
      expect(countOf(await burst(30, 4, () => http('GET', `${low.url}/queues`)))).toEqual({ 200: 30 });
      await low.stop('SIGKILL');

      // Behind a gateway (any address, ALLOW_UNAUTHENTICATED): per client address, as before.
      const open = await stack.startApi({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true', RATE_LIMIT_MAX: '5' });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await http('GET', `${open.url}/queues`)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect429(
        await http('GET', `${open.url}/queues`),
        'rate limit of 5 requests per 60 s (RATE_LIMIT_MAX) reached for client',
      );
    } finally {
      await stack.stop();
    }
  });
});
