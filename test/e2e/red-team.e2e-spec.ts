import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { freePort, http, OwnRedis, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');

/** Starts a built app with `env` and waits for it to exit (it must: the configuration is bad); its exit code and output. */
function bootFails(
  app: 'api' | 'worker',
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', app, 'main.js')], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'trace', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${app} did not exit on a bad configuration:\n${output}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * One request over node:http, which sends the path as given (fetch would resolve `..` first) and
 * can pick the local address: any of 127.0.0.0/8 reaches the api on 127.0.0.1 from a second address.
 * Not recorded for the OpenAPI check; the tests check the error shape themselves.
 */
function rawRequest(
  url: string,
  options: {
    path?: string;
    method?: string;
    localAddress?: string;
    headers?: Record<string, string>;
    body?: string;
  } = {},
): Promise<{ status: number; body: any }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: options.path ?? target.pathname + target.search,
        method: options.method ?? 'GET',
        localAddress: options.localAddress,
        headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(options.body);
  });
}

const errorShape = (status: number) => ({ statusCode: status, error: expect.any(String), message: expect.any(String) });

describe('one address cannot take every connection (MAX_CONNECTIONS 1024, MAX_CONNECTIONS_PER_ADDRESS 256)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack();
    await stack.startApi();
  });
  afterAll(() => stack.stop());

  it('serves another address while 1,030 idle sockets come from one, closing those past its share at once', async () => {
    const port = Number(new URL(stack.api.url).port);
    const sockets: Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < 1030; i++) {
      const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
      socket.on('close', () => closedByServer++);
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
    try {
      await waitFor(() => closedByServer >= 1030 - 256, {
        timeoutMs: 30_000,
        what: `the connections past the address's share to be closed (${closedByServer} so far)`,
      });
      // (This process may hold a keep-alive connection from earlier requests: it counts too.)
      expect(1030 - closedByServer).toBeLessThanOrEqual(256);
      // The flooding address holds its share; another address is served all the same.
      const other = await rawRequest(`${stack.api.url}/health/live`, { localAddress: '127.0.0.2' });
      expect(other.status).toBe(200);
      await expect(rawRequest(`${stack.api.url}/health/live`, { localAddress: '127.0.0.1' })).rejects.toThrow();
    } finally {
      sockets.forEach((socket) => socket.destroy());
    }
    await waitFor(
      async () => (await http('GET', `${stack.api.url}/health/live`).catch(() => undefined))?.status === 200,
      {
        what: 'the flooding address to be served again once its sockets are gone',
      },
    );
  });
});

describe('metrics listeners bind METRICS_HOST, by default HOST', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack(); // HOST=127.0.0.1
    await stack.startApi();
    await stack.startWorker();
  });
  afterAll(() => stack.stop());

  /** Whether a TCP connection to port on `host` is accepted. */
  const reachable = (host: string, port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });

  it('keeps the api and worker metrics on 127.0.0.1 with HOST=127.0.0.1, and on every address with METRICS_HOST=0.0.0.0', async () => {
    const worker = stack.workers[0];
    expect(await reachable('127.0.0.1', stack.api.metricsPort)).toBe(true);
    expect(await reachable('127.0.0.1', worker.port)).toBe(true);
    // Another address of this machine: a listener on 127.0.0.1 is not there, one on 0.0.0.0 is.
    expect(await reachable('127.0.0.2', stack.api.metricsPort)).toBe(false);
    expect(await reachable('127.0.0.2', worker.port)).toBe(false);
    expect(await reachable('127.0.0.2', stack.api.port)).toBe(false);
    const open = await stack.startWorker({ METRICS_HOST: '0.0.0.0' });
    expect(await reachable('127.0.0.2', open.port)).toBe(true);
  });
});

describe('lower-severity findings, as requests (AUTH_MODE=none stack)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack({ REQUEST_TIMEOUT_MS: '15000' });
    await stack.startApi();
  });
  afterAll(() => stack.stop());

  const errorLines = () => stack.api.logs((line) => Number(line.level) >= 50);

  it('answers path traversal and NUL bytes on /ui and /docs with 400/403 in the error shape, not 500', async () => {
    const cases: [string, number][] = [
      ['/ui/../../etc/passwd', 403],
      ['/ui/..%2f..%2fetc%2fpasswd', 404],
      ['/ui/%00', 400],
      ['/docs/../../etc/passwd', 403],
      ['/docs/%00', 400],
    ];
    for (const [path, status] of cases) {
      const res = await rawRequest(stack.api.url, { path });
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status, body: errorShape(status) });
    }
    expect(errorLines()).toEqual([]);
  });

  it("refuses Object.prototype's names as unknown fields in bodies and query strings, and logs no drift", async () => {
    const refused: [string, string, unknown][] = [
      ['POST', '/submit', { task_type: 'echo', payload: 1, toString: 1 }],
      ['POST', '/submit', { task_type: 'echo', payload: 1, constructor: 1 }],
      ['PUT', '/queues/default/limits', { rate: null, concurrency: null, hasOwnProperty: 1 }],
      ['POST', '/auth/keys', { name: 'proto', scopes: ['read'], valueOf: 1 }],
      ['GET', '/tasks?status=queued&toString=1', undefined],
      ['GET', '/tasks?status=queued&hasOwnProperty=1', undefined],
      ['GET', '/dlq?constructor=1', undefined],
      ['GET', '/auth/keys?valueOf=1', undefined],
    ];
    await stack.submitOk({ task_type: 'echo', payload: 'makes queue default' });
    for (const [method, path, body] of refused) {
      const res = await http(method, `${stack.api.url}${path}`, body);
      expect({
        method,
        path,
        status: res.status,
        rules: res.body.errors?.map((e: { rule: string }) => e.rule),
      }).toEqual({
        method,
        path,
        status: 400,
        rules: [expect.stringMatching(/^(unknownField|additionalProperties)$/)],
      });
    }
    // A payload may hold such names: it is any JSON.
    expect((await stack.submit({ task_type: 'echo', payload: { toString: 1, constructor: 2 } })).status).toBe(202);
    expect(stack.api.logs((line) => /disagree/.test(String(line.msg)))).toEqual([]);
    expect(errorLines()).toEqual([]);
  });

  it('takes integers in query strings only as decimal digits', async () => {
    for (const path of [
      '/tasks?status=queued&limit=0x10',
      '/tasks?status=queued&limit=%2B5',
      '/tasks?status=queued&limit=1e2',
      '/dlq?limit=0x10',
      '/auth/keys?limit=1e2',
      '/tasks/default.00000000-0000-0000-0000-000000000000?wait_ms=0x10',
      '/queues/default/history?minutes=%2B5',
    ]) {
      const res = await http('GET', `${stack.api.url}${path}`);
      expect({ path, status: res.status, rule: res.body.errors?.[0]?.rule }).toEqual({
        path,
        status: 400,
        rule: 'isInt',
      });
    }
    expect((await http('GET', `${stack.api.url}/tasks?status=queued&limit=16`)).status).toBe(200);
  });

  it('refuses a body that gives a key twice, naming it, and writes nothing', async () => {
    const before = await stack.keyCount();
    const single = await http('POST', `${stack.api.url}/submit`, undefined, {
      raw: '{"task_type":"echo","payload":1,"priority":1,"priority":100}',
    });
    expect(single).toMatchObject({ status: 400, body: { errors: [{ field: 'priority', rule: 'duplicateKey' }] } });
    const batch = await http('POST', `${stack.api.url}/submit/batch`, undefined, {
      raw: '{"tasks":[{"task_type":"echo","payload":1},{"task_type":"echo","payload":{"a":1,"a":2}}]}',
    });
    expect(batch).toMatchObject({
      status: 400,
      body: { errors: [{ field: 'tasks.1.payload.a', rule: 'duplicateKey' }] },
    });
    expect(await stack.keyCount()).toBe(before);
  });

  it('names the header timeout, not REQUEST_TIMEOUT_MS, when headers never end', async () => {
    const port = Number(new URL(stack.api.url).port);
    const text = await new Promise<string>((resolve) => {
      let received = '';
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /queues HTTP/1.1\r\nHost: x\r\n'));
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
    });
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
      statusCode: 408,
      error: 'Request Timeout',
      message:
        'The request headers were not received within 10000 ms (the header timeout; the whole request may take REQUEST_TIMEOUT_MS, 15000 ms)',
    });
  });
});

describe('schedules, workers and queues with queue-limited keys (3,000 schedules, own redis-server)', () => {
  const admin = `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;
  const SCHEDULES = 3000;
  let redis: OwnRedis;
  let stats: Redis;
  let stack: Stack;
  /** Admin of `emails` only, and a reader of `emails` only. */
  let emailsAdmin: string;
  let emailsReader: string;
  const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
  const call = (key: string, method: string, path: string, body?: unknown) =>
    http(method, `${stack.api.url}${path}`, body, as(key));
  /** How many times Redis ran `command` since it started (INFO commandstats; this Redis is the stack's alone). */
  const calls = async (command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await stats.info('commandstats'))?.[1] ?? 0);

  beforeAll(async () => {
    redis = await OwnRedis.create();
    await redis.start();
    stats = new Redis(redis.url);
    stack = new Stack(
      {
        AUTH_MODE: 'api-key',
        BOOTSTRAP_ADMIN_KEY: admin,
        RATE_LIMIT_MAX: '0',
        QUOTA_TASKS: '0',
        MAX_SCHEDULES: String(SCHEDULES),
      },
      redis.url,
    );
    await stack.startApi();
    await waitFor(async () => (await call(admin, 'GET', '/queues')).status === 200, { what: 'the bootstrap key' });
    const key = async (scopes: string[]) =>
      (await call(admin, 'POST', '/auth/keys', { name: scopes.join('-'), scopes, queues: ['emails'] })).body.key;
    emailsAdmin = await key(['admin']);
    emailsReader = await key(['read']);
    // 3,000 schedules in `reports`, none in `emails`.
    const names = Array.from({ length: SCHEDULES }, (_, i) => `report-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(
        names.slice(i, i + 25).map(async (name) => {
          const res = await call(admin, 'PUT', `/schedules/${name}`, {
            cron: '0 3 * * *',
            tz: 'Europe/Berlin',
            task: { task_type: 'echo', payload: { name }, queue: 'reports' },
          });
          if (res.status !== 201) throw new Error(`PUT ${name}: ${res.status} ${JSON.stringify(res.body)}`);
        }),
      );
    }
  });
  afterAll(async () => {
    stats?.disconnect();
    await stack?.stop();
    await redis?.destroy();
  });

  it('pages GET /schedules by name, reading only the page; a key that sees none of them reads none', async () => {
    // A queue-limited key: its (empty) page, and not one schedule read for it.
    await call(emailsReader, 'GET', '/schedules'); // its key record is cached after this
    const [hashReads, fieldReads] = [await calls('hgetall'), await calls('hget')];
    const none = await call(emailsReader, 'GET', '/schedules');
    expect(none).toMatchObject({ status: 200, body: { schedules: [], next_cursor: null } });
    expect((await calls('hgetall')) - hashReads).toBeLessThan(5);
    expect((await calls('hget')) - fieldReads).toBeLessThan(5);

    // The admin: a page of 50 by default, reading about that many, in a bounded answer.
    const before = await calls('hgetall');
    const first = await call(admin, 'GET', '/schedules');
    expect(first.body.schedules).toHaveLength(50);
    expect(first.body.schedules[0]).toMatchObject({ name: 'report-0000', next_runs: expect.any(Array) });
    expect(first.body.next_cursor).toBe('report-0049');
    expect((await calls('hgetall')) - before).toBeLessThan(100);
    expect(Buffer.byteLength(JSON.stringify(first.body))).toBeLessThan(50 * 1024);

    // Every schedule once, in order, 100 a page.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { schedules: { name: string }[]; next_cursor: string | null } } = await call(
        admin,
        'GET',
        `/schedules?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.schedules.length).toBeLessThanOrEqual(100);
      seen.push(...page.body.schedules.map((schedule) => schedule.name));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(SCHEDULES);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(SCHEDULES);
    expect((await call(admin, 'GET', '/schedules?limit=101')).status).toBe(400);
  });

  it('caps the schedules of a queue at MAX_SCHEDULES (3,000 here): one more is a 409 that writes nothing', async () => {
    const before = await stats.dbsize();
    const res = await call(admin, 'POST', '/schedules', {
      name: 'one-too-many',
      every_ms: 60_000,
      task: { task_type: 'echo', payload: 1, queue: 'reports' },
    });
    expect(res).toMatchObject({ status: 409, body: { message: expect.stringContaining('MAX_SCHEDULES') } });
    expect(await stats.dbsize()).toBe(before);
    expect((await call(admin, 'GET', '/schedules/one-too-many')).status).toBe(404);
  });

  it("tells a queue-limited key nothing of another queue's schedules: 404 by name, 403 by id, 409 without the holder", async () => {
    const other = (await call(admin, 'GET', '/schedules/report-0001')).body;
    const nobody = await call(emailsAdmin, 'GET', '/schedules/no-such-schedule');
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { enabled: false }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(emailsAdmin, method, '/schedules/report-0001', body);
      expect({ method, status: res.status, message: res.body.message }).toEqual({
        method,
        status: 404,
        message: nobody.body.message.replace('no-such-schedule', 'report-0001'),
      });
    }
    expect((await call(emailsAdmin, 'GET', `/schedules/${other.schedule_id}`)).status).toBe(403);
    const mine = { every_ms: 60_000, task: { task_type: 'echo', payload: 1, queue: 'emails' } };
    for (const res of [
      await call(emailsAdmin, 'POST', '/schedules', { name: 'report-0001', ...mine }),
      await call(emailsAdmin, 'PUT', '/schedules/report-0001', mine),
    ]) {
      expect(res.status).toBe(409);
      expect(res.body.message).not.toContain(other.schedule_id);
      expect(res.body.message).not.toContain('reports');
    }
    expect((await call(admin, 'GET', '/schedules/report-0001')).body).toMatchObject({ enabled: true, runs: 0 });
  });

  it('refuses to forget a queue with 3,000 schedules in a short message', async () => {
    const res = await call(admin, 'DELETE', '/queues/reports');
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/is the target of 3000 schedule\(s\): report-0000, .*, report-0004 and 2995 more/);
    expect(Buffer.byteLength(JSON.stringify(res.body))).toBeLessThan(1024);
  });

  it('answers 404 to controls and forgetting of a queue that does not exist, and creates none', async () => {
    for (const [method, path, body] of [
      ['POST', '/queues/nowhere/pause', undefined],
      ['POST', '/queues/nowhere/resume', undefined],
      ['PUT', '/queues/nowhere/limits', { rate: null, concurrency: 1 }],
      ['DELETE', '/queues/nowhere', undefined],
    ] as const) {
      expect({ path, status: (await call(admin, method, path, body)).status }).toEqual({ path, status: 404 });
    }
    const listed = (await call(admin, 'GET', '/queues')).body.queues.map((q: { queue: string }) => q.queue);
    expect(listed).not.toContain('nowhere');
  });

  it("shows a queue-limited key a worker's runs of its queues only", async () => {
    const worker = await stack.startWorker({ WORKER_QUEUES: 'emails,reports', WORKER_CONCURRENCY: '4' });
    for (let i = 0; i < 2; i++) {
      const res = await call(admin, 'POST', '/submit', {
        task_type: 'sleep',
        payload: { ms: 60_000 },
        queue: 'reports',
      });
      expect(res.status).toBe(202);
    }
    const seen = await waitFor(
      async () => {
        const all = (await call(admin, 'GET', '/workers')).body.workers;
        return all[0]?.in_flight === 2 ? all : undefined;
      },
      { what: 'the worker to report its two runs' },
    );
    expect(seen[0]).toMatchObject({ queues: ['emails', 'reports'], in_flight: 2 });
    const limited = (await call(emailsReader, 'GET', '/workers')).body.workers;
    expect(limited).toEqual([expect.objectContaining({ queues: ['emails'], in_flight: 0 })]);
    await worker.stop('SIGKILL');
  });
});

describe('a malformed URL in the configuration: refused at boot, its password never printed', () => {
  it.each([
    ['api', { REDIS_URL: 'redis://:pw-in-url@127.0.0.1:notaport' }, 'REDIS_URL="redis://***@127.0.0.1:notaport"'],
    ['worker', { REDIS_URL: 'redis://:pw-in-url@127.0.0.1:notaport' }, 'REDIS_URL="redis://***@127.0.0.1:notaport"'],
    ['api', { REDIS_URL: 'redis://:pw-in-url' }, 'REDIS_URL="redis://***"'],
    [
      'worker',
      { RESULTS_BACKEND: 'postgres', DATABASE_URL: 'postgres:taskq:pw-in-url@db/taskq' },
      'DATABASE_URL="***@db/taskq"',
    ],
  ] as const)('%s with %j', async (app, env, shown) => {
    const ports = { PORT: String(await freePort()), METRICS_PORT: String(await freePort()) };
    const { code, output } = await bootFails(app, { HOST: '127.0.0.1', AUTH_MODE: 'none', ...ports, ...env });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain(shown);
    expect(output).not.toContain('pw-in-url');
  });
});
