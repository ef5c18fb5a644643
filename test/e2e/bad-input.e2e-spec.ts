import { connect, Socket } from 'node:net';
import Redis from 'ioredis';
import { KEY_SCHEMA_VERSION, schemaMigrationLockKey, schemaVersionKey } from '@app/queue';
import { diffSnapshots, http, OwnRedis, snapshotKeys, waitFor } from '@app/testing';
import { Stack } from './harness';
import { keySet } from './keys';
import { costTable, CostRow, maxEventLoopLagMs, rssMiB } from './process-stats';

jest.setTimeout(60_000);

describe('bad input: a clear error, the right status, nothing written', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack({ MAX_PAYLOAD_BYTES: '1024', MAX_BATCH_SIZE: '5', MAX_BODY_BYTES: '65536' });
    await stack.startApi();
  });
  afterAll(() => stack.stop());

  const valid = { task_type: 'echo', payload: { a: 1 } };
  const cases: {
    name: string;
    body?: unknown;
    raw?: string;
    headers?: Record<string, string>;
    path?: string;
    status: number;
    field?: string;
    rule?: string;
    message?: RegExp;
  }[] = [
    { name: 'malformed JSON', raw: '{"task_type":"echo",', status: 400, field: 'body', rule: 'isJson' },
    { name: 'an empty body', raw: '', status: 400, field: 'body', rule: 'isPresent' },
    {
      name: 'a __proto__ key',
      raw: '{"task_type":"echo","payload":{"__proto__":{"x":1}}}',
      status: 400,
      field: 'body',
      rule: 'isJson',
    },
    {
      name: 'a valid echo payload nested 6,000 levels deep',
      raw: `{"task_type":"echo","payload":${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}}`,
      status: 400,
      field: 'body',
      rule: 'maxDepth',
    },
    {
      name: 'a batch nested 6,000 levels deep',
      path: '/submit/batch',
      raw: `{"tasks":[{"task_type":"echo","payload":${'['.repeat(6000)}${']'.repeat(6000)}}]}`,
      status: 400,
      field: 'body',
      rule: 'maxDepth',
    },
    { name: 'a JSON array body', body: [valid], status: 400 },
    {
      name: 'a wrong content type',
      raw: 'task_type=echo',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      message: /^Content-Type must be application\/json$/,
    },
    {
      name: 'a form body',
      raw: 'task_type=echo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      message: /^Content-Type must be application\/json$/,
    },
    {
      name: 'an unparsable content type',
      raw: '{}',
      headers: { 'content-type': 'not a media type' },
      status: 415,
      message: /^Content-Type must be application\/json$/,
    },
    { name: 'a missing task_type', body: { payload: 1 }, status: 400, field: 'task_type', rule: 'isPresent' },
    { name: 'a missing payload', body: { task_type: 'echo' }, status: 400, field: 'payload', rule: 'isPresent' },
    {
      name: 'a mistyped task_type',
      body: { task_type: 42, payload: 1 },
      status: 400,
      field: 'task_type',
      rule: 'isString',
    },
    {
      name: 'a bad task_type pattern',
      body: { task_type: 'has space', payload: 1 },
      status: 400,
      field: 'task_type',
      rule: 'matches',
    },
    { name: 'an unknown field', body: { ...valid, colour: 'red' }, status: 400, field: 'colour', rule: 'unknownField' },
    { name: 'priority out of range', body: { ...valid, priority: 101 }, status: 400, field: 'priority', rule: 'max' },
    { name: 'a fractional priority', body: { ...valid, priority: 1.5 }, status: 400, field: 'priority', rule: 'isInt' },
    { name: 'a string priority', body: { ...valid, priority: '5' }, status: 400, field: 'priority', rule: 'isInt' },
    {
      name: 'negative max_retries',
      body: { ...valid, max_retries: -1 },
      status: 400,
      field: 'max_retries',
      rule: 'min',
    },
    { name: 'a bad queue name', body: { ...valid, queue: 'Bad{Queue}' }, status: 400, field: 'queue', rule: 'matches' },
    {
      name: 'delay_ms with run_at',
      body: { ...valid, delay_ms: 10, run_at: '2030-01-01T00:00:00Z' },
      status: 400,
      field: 'delay_ms',
      rule: 'notWith',
    },
    { name: 'a bad run_at', body: { ...valid, run_at: 'tomorrow' }, status: 400, field: 'run_at', rule: 'isRfc3339' },
    {
      name: 'an ISO week date as run_at',
      body: { ...valid, run_at: '2030-W01-1' },
      status: 400,
      field: 'run_at',
      rule: 'isRfc3339',
    },
    {
      name: 'a run_at without a time zone',
      body: { ...valid, run_at: '2030-01-01T09:00:00' },
      status: 400,
      field: 'run_at',
      rule: 'isRfc3339',
    },
    {
      name: 'a run_at on a day that does not exist',
      body: { ...valid, run_at: '2031-02-29T09:00:00Z' },
      status: 400,
      field: 'run_at',
      rule: 'isRfc3339',
    },
    {
      name: 'a run_at more than 365 days ahead',
      body: { ...valid, run_at: new Date(Date.now() + 31_536_000_000 + 3_600_000).toISOString() },
      status: 400,
      field: 'run_at',
      rule: 'maxAhead',
    },
    { name: 'a null queue', body: { ...valid, queue: null }, status: 400, field: 'queue', rule: 'isString' },
    { name: 'a null priority', body: { ...valid, priority: null }, status: 400, field: 'priority', rule: 'isInt' },
    {
      name: 'a field named constructor',
      body: { ...valid, constructor: 1 },
      status: 400,
      field: 'constructor',
      rule: 'unknownField',
    },
    {
      name: 'an array as a task of a batch',
      path: '/submit/batch',
      body: { tasks: [valid, []] },
      status: 400,
      field: 'tasks',
      rule: 'isObject',
    },
    {
      name: 'a batch task missing its type',
      path: '/submit/batch',
      body: { tasks: [valid, { payload: 1 }] },
      status: 400,
      field: 'tasks.1.task_type',
      rule: 'isPresent',
    },
    { name: 'timeout_ms zero', body: { ...valid, timeout_ms: 0 }, status: 400, field: 'timeout_ms', rule: 'min' },
    {
      name: 'an unknown task type',
      body: { task_type: 'nope', payload: 1 },
      status: 400,
      field: 'task_type',
      rule: 'isRegisteredTaskType',
    },
    {
      name: 'a payload breaking its contract',
      body: { task_type: 'email', payload: 'not-an-address' },
      status: 400,
      field: 'payload.to',
      rule: 'isEmail',
    },
    {
      name: 'a payload of the wrong shape',
      body: { task_type: 'sleep', payload: { ms: 'long' } },
      status: 400,
      field: 'payload.ms',
      rule: 'isInt',
    },
    {
      name: 'an oversized payload',
      body: { task_type: 'echo', payload: 'x'.repeat(2000) },
      status: 413,
      field: 'payload',
      rule: 'maxBytes',
    },
    {
      name: 'an oversized body',
      raw: JSON.stringify({ task_type: 'echo', payload: 'x'.repeat(70_000) }),
      status: 413,
      message: /^Request body is larger than MAX_BODY_BYTES \(65536 bytes\)$/,
    },
    {
      name: 'a batch over MAX_BATCH_SIZE',
      path: '/submit/batch',
      body: { tasks: Array(6).fill(valid) },
      status: 400,
      field: 'tasks',
      rule: 'arrayMaxSize',
    },
    {
      name: 'an empty batch',
      path: '/submit/batch',
      body: { tasks: [] },
      status: 400,
      field: 'tasks',
      rule: 'arrayMinSize',
    },
    {
      name: 'a batch with one bad task',
      path: '/submit/batch',
      body: { tasks: [valid, valid, { ...valid, priority: 1000 }] },
      status: 400,
      field: 'tasks.2.priority',
      rule: 'max',
    },
    {
      name: 'a batch with an oversized payload',
      path: '/submit/batch',
      body: { tasks: [valid, { task_type: 'echo', payload: 'y'.repeat(2000) }] },
      status: 413,
      field: 'tasks.1.payload',
    },
  ];

  it.each(cases)(
    'rejects $name with $status, naming the field',
    async ({ body, raw, headers, path, status, field, rule, message }) => {
      const before = await keySet(stack.redis, stack.prefix);
      const res = await http('POST', `${stack.api.url}${path ?? '/submit'}`, body, { raw, headers });
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({
        statusCode: status,
        error: expect.any(String),
        message: message ?? expect.any(String),
      });
      expect(res.body.errors ?? []).toEqual(
        field
          ? expect.arrayContaining([expect.objectContaining({ field, ...(rule ? { rule } : {}) })])
          : expect.any(Array),
      );
      expect(await keySet(stack.redis, stack.prefix)).toEqual(before);
    },
  );

  it('says a missing required field is required, and nothing else about it', async () => {
    const res = await http('POST', `${stack.api.url}/submit/batch`, { tasks: [{ task_type: 'echo' }, {}] });
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'tasks.0.payload is required; tasks.1.task_type is required; tasks.1.payload is required',
      errors: [
        { field: 'tasks.0.payload', rule: 'isPresent', message: 'tasks.0.payload is required' },
        { field: 'tasks.1.task_type', rule: 'isPresent', message: 'tasks.1.task_type is required' },
        { field: 'tasks.1.payload', rule: 'isPresent', message: 'tasks.1.payload is required' },
      ],
    });
    expect((await http('POST', `${stack.api.url}/submit/batch`, {})).body.errors).toEqual([
      { field: 'tasks', rule: 'isPresent', message: 'tasks is required' },
    ]);
  });

  it('answers 404 for unknown ids and 400 for bad DLQ queries', async () => {
    expect((await http('GET', `${stack.api.url}/tasks/default.00000000-0000-0000-0000-000000000000`)).status).toBe(404);
    expect((await http('GET', `${stack.api.url}/tasks/whatever`)).status).toBe(404);
    expect((await http('POST', `${stack.api.url}/dlq/whatever/requeue`)).status).toBe(404);
    expect((await http('DELETE', `${stack.api.url}/dlq/whatever`)).status).toBe(404);
    const badLimit = await http('GET', `${stack.api.url}/dlq?limit=0`);
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.errors[0]).toMatchObject({ field: 'limit', rule: 'min' });
    expect((await http('GET', `${stack.api.url}/dlq?queue=A{b}`)).status).toBe(400);
    for (const path of ['/queues?verbose=1', '/health/ready?x=', '/tasks/whatever?include=all', '/submit?queue=x']) {
      const post = path.startsWith('/submit');
      const res = await http(post ? 'POST' : 'GET', `${stack.api.url}${path}`, post ? valid : undefined);
      expect({ path, status: res.status, rule: res.body.errors?.[0]?.rule }).toEqual({
        path,
        status: 400,
        rule: 'unknownField',
      });
    }
    expect((await http('GET', `${stack.api.url}/health/ready`)).body).toEqual({
      status: 'ok',
      info: { redis: { status: 'up' } },
      error: {},
      details: { redis: { status: 'up' } },
    });
    // A probe or a proxy never gets a cached answer.
    for (const route of ['live', 'ready'])
      expect([route, (await http('GET', `${stack.api.url}/health/${route}`)).headers.get('cache-control')]).toEqual([
        route,
        'no-cache, no-store, must-revalidate',
      ]);
    expect(await http('GET', `${stack.api.url}/nowhere`)).toMatchObject({
      status: 404,
      body: { statusCode: 404, error: 'Not Found', message: 'Cannot GET /nowhere' },
    });
  });
});

describe('Redis unavailable', () => {
  let redis: OwnRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await OwnRedis.create();
    await redis.start();
    stack = new Stack({ REDIS_COMMAND_TIMEOUT_MS: '500' }, redis.url);
    await stack.startApi();
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await redis.destroy();
  });

  it('answers 503 with Retry-After quickly, and api and worker resume by themselves', async () => {
    const before = await stack.submitOk({ task_type: 'echo', payload: 'before' });
    await stack.waitForStatus(before, ['succeeded']);

    await redis.kill();
    const started = Date.now();
    const down = await stack.submit({ task_type: 'echo', payload: 'during' });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(down.body.message).toMatch(/unavailable/i);
    expect(Date.now() - started).toBeLessThan(3000);
    // Readiness keeps terminus's shape, so the reason (Redis down, and why) reaches the probe's log.
    const ready = await http('GET', `${stack.api.url}/health/ready`);
    expect(ready).toMatchObject({
      status: 503,
      body: {
        status: 'error',
        info: {},
        error: { redis: { status: 'down', message: expect.any(String) } },
        details: { redis: { status: 'down', message: expect.any(String) } },
      },
    });
    expect((await http('GET', `${stack.api.url}/tasks/${before}`)).status).toBe(503);
    expect((await http('GET', `${stack.api.url}/health/live`)).status).toBe(200);

    await redis.start();
    const after = await waitFor(
      async () => {
        const res = await stack.submit({ task_type: 'echo', payload: 'after' });
        return res.status === 202 ? (res.body.task_id as string) : undefined;
      },
      { timeoutMs: 15_000, what: 'the api to accept tasks again' },
    );
    // Non-persistent Redis lost `before`; what matters is that the worker reconnected and runs new work.
    await stack.waitForStatus(after, ['succeeded'], 20_000);
    expect(stack.workers[0].running).toBe(true);
  });
});

/** A raw HTTP exchange: what the server answered (status line, headers, body) until it closed or `until` matched. */
function rawExchange(
  port: number,
  send: (socket: Socket) => void,
  { timeoutMs, until }: { timeoutMs: number; until?: RegExp },
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => send(socket));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 300))}`));
    }, timeoutMs);
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (until?.test(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, closed: false });
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', () => undefined);
  });
}

const jsonBodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

describe('bounded cost per request (own redis-server, default limits)', () => {
  const REQUEST_TIMEOUT_MS = 3000;
  const MAX_CONNECTIONS = 64;
  /** The api's container memory limit in deploy/ (512Mi): the bound every worst case must stay under. */
  const RSS_BOUND_MIB = 512;
  const MAX_PAYLOAD_BYTES = 256 * 1024;
  const biggest = 'x'.repeat(MAX_PAYLOAD_BYTES - 2); // 262144 bytes serialized: exactly MAX_PAYLOAD_BYTES
  let redis: OwnRedis;
  let stack: Stack;
  let port: number;
  let waiting: Promise<{ status: number; body: any }>;
  const rows: CostRow[] = [];

  /** Runs one worst case and records its status, response size, the api's RSS after and the longest stall. */
  async function measure<T extends { status: number; body: any }>(request: string, run: () => Promise<T>): Promise<T> {
    await maxEventLoopLagMs(stack.api.metricsUrl);
    const res = await run();
    const row = {
      request,
      status: res.status,
      responseBytes: Buffer.byteLength(JSON.stringify(res.body ?? '')),
      rssMiB: rssMiB(stack.api.child.pid!),
      lagMs: await maxEventLoopLagMs(stack.api.metricsUrl),
    };
    rows.push(row);
    expect(row.rssMiB).toBeLessThan(RSS_BOUND_MIB);
    return res;
  }

  beforeAll(async () => {
    redis = await OwnRedis.create();
    await redis.start();
    stack = new Stack(
      { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), MAX_CONNECTIONS: String(MAX_CONNECTIONS) },
      redis.url,
    );
    await stack.startApi();
    // A worker without the demo task types: every echo task of `doomed` dies as unknown_task_type.
    await stack.startWorker({ DEMO_TASKS: 'false', WORKER_QUEUES: 'doomed' });
    port = Number(new URL(stack.api.url).port);
    // Held for the whole suite: a GET ?wait_ms of 30 s outlives no socket timeout.
    const parked = await stack.submitOk({ task_type: 'echo', payload: 'waits', queue: 'never' });
    waiting = http('GET', `${stack.api.url}/tasks/${parked}?wait_ms=30000`, undefined, { timeoutMs: 45_000 });
  });
  afterAll(async () => {
    process.stdout.write(`\nbounded cost, measured (api RSS bound ${RSS_BOUND_MIB} MiB):\n${costTable(rows)}\n`);
    await stack.stop();
    await redis.destroy();
  });

  it('takes the largest batch MAX_BODY_BYTES allows (60 payloads of MAX_PAYLOAD_BYTES) within the memory bound', async () => {
    const tasks = Array.from({ length: 60 }, () => ({ task_type: 'echo', payload: biggest, queue: 'parked' }));
    const res = await measure('POST /submit/batch, 60 × 256 KiB payloads (15.7 MB)', () =>
      http('POST', `${stack.api.url}/submit/batch`, { tasks }),
    );
    expect(res.status).toBe(202);
  });

  it('refuses a batch by its length before validating any item: 16 MiB of nulls', async () => {
    const raw = `{"tasks":[${Array(Math.floor((16 * 1024 * 1024 - 12) / 5))
      .fill('null')
      .join(',')}]}`;
    expect(raw.length).toBeLessThanOrEqual(16 * 1024 * 1024);
    const res = await measure('POST /submit/batch, 16 MiB of nulls', () =>
      http('POST', `${stack.api.url}/submit/batch`, undefined, { raw, timeoutMs: 30_000 }),
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'tasks', rule: 'arrayMaxSize' })]);
  });

  it('refuses 16 MiB of nested brackets on the text, before JSON.parse builds millions of arrays', async () => {
    const half = 8 * 1024 * 1024 - 8;
    const raw = `{"tasks":${'['.repeat(half)}${']'.repeat(half)}}`;
    const res = await measure('POST /submit/batch, 16 MiB of nested brackets', () =>
      http('POST', `${stack.api.url}/submit/batch`, undefined, { raw, timeoutMs: 30_000 }),
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'body', rule: 'maxDepth' })]);
  });

  it('answers 1000 broken tasks with the first 20 field errors, explaining only the first 20 failing tasks', async () => {
    const broken = { task_type: 'has space', payload: 1, priority: 'high', max_retries: -1, timeout_ms: 0, queue: 'A' };
    const res = await measure('POST /submit/batch, 1000 tasks, each breaking 5 fields', () =>
      http('POST', `${stack.api.url}/submit/batch`, { tasks: Array(1000).fill(broken) }),
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(20);
    // 20 failing tasks are explained (7 errors each), the other 980 counted.
    expect(res.body.message).toMatch(
      /; and 120 more errors not shown; 980 more tasks fail too \(the first 20 failing ones are named\)$/,
    );
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('tasks.2.priority');
    expect(Buffer.byteLength(JSON.stringify(res.body))).toBeLessThan(8 * 1024);
  });

  it('holds POST /submit to its own body limit (MAX_PAYLOAD_BYTES + 64 KiB), far below MAX_BODY_BYTES', async () => {
    const res = await measure('POST /submit, 400 KB body', () =>
      http('POST', `${stack.api.url}/submit`, { task_type: 'echo', payload: 'y'.repeat(400_000) }),
    );
    expect(res.status).toBe(413);
    expect(res.body.message).toBe(
      `Request body is larger than this route's limit, MAX_PAYLOAD_BYTES + 65536 (${MAX_PAYLOAD_BYTES + 65536} bytes)`,
    );
  });

  it('lists 100 dead tasks with 256 KiB payloads without their payloads (GET /dlq?limit=500)', async () => {
    for (let i = 0; i < 2; i++) {
      const tasks = Array.from({ length: 50 }, () => ({ task_type: 'echo', payload: biggest, queue: 'doomed' }));
      expect((await http('POST', `${stack.api.url}/submit/batch`, { tasks })).status).toBe(202);
    }
    await waitFor(async () => (await http('GET', `${stack.api.url}/queues/doomed`)).body.counts?.dead === 100, {
      timeoutMs: 30_000,
      what: '100 dead tasks',
    });
    const res = await measure('GET /dlq?limit=500 (100 dead × 256 KiB payloads)', () =>
      http('GET', `${stack.api.url}/dlq?limit=500`),
    );
    expect(res.status).toBe(200);
    expect(res.body.tasks).toHaveLength(100);
    expect(res.body.tasks[0]).toMatchObject({ dead_reason: 'unknown_task_type', last_error: expect.any(String) });
    expect(res.body.tasks.some((t: object) => 'payload' in t)).toBe(false);
    // A page is at most 500 summaries of at most ~5 KB (last_error is cut at 4000 characters).
    expect(Buffer.byteLength(JSON.stringify(res.body))).toBeLessThan(100 * 5 * 1024);
  });

  it('lists 60 queued tasks of 256 KiB as summaries, and shows one whole task (bounded by MAX_PAYLOAD_BYTES)', async () => {
    const list = await measure('GET /tasks?status=queued&queue=parked&limit=500', () =>
      http('GET', `${stack.api.url}/tasks?status=queued&queue=parked&limit=500`),
    );
    expect(list.body.tasks).toHaveLength(60);
    expect(Buffer.byteLength(JSON.stringify(list.body))).toBeLessThan(60 * 1024);
    const one = await measure('GET /tasks/{id} of a 256 KiB task', () =>
      http('GET', `${stack.api.url}/tasks/${list.body.tasks[0].task_id}`),
    );
    expect(Buffer.byteLength(JSON.stringify(one.body))).toBeLessThan(MAX_PAYLOAD_BYTES + 4096);
  });

  it('answers 414 for a path parameter over 200 characters, in the error shape', async () => {
    const res = await http('GET', `${stack.api.url}/tasks/${'a'.repeat(300)}`);
    expect(res).toMatchObject({
      status: 414,
      body: { statusCode: 414, error: 'URI Too Long', message: 'A path parameter is longer than 200 characters' },
    });
  });

  it('answers 431 for headers over 16 KiB, in the error shape, and closes the connection', async () => {
    const { text, closed } = await rawExchange(
      port,
      (socket) => socket.write(`GET /queues HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      { timeoutMs: 10_000 },
    );
    expect(text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(jsonBodyOf(text)).toEqual({
      statusCode: 431,
      error: 'Request Header Fields Too Large',
      message: 'The request headers are larger than 16 KiB',
    });
    expect(closed).toBe(true);
  });

  it('answers 408 and closes a connection whose body never comes, or whose headers never end (REQUEST_TIMEOUT_MS)', async () => {
    // Node checks for overdue requests every second (configure-api.ts): the bound is the timeout, that second, and slack.
    const bound = REQUEST_TIMEOUT_MS + 1000 + 5000;
    const sends: ((socket: Socket) => void)[] = [
      (socket) =>
        socket.write(
          'POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
        ),
      (socket) => socket.write('GET /queues HTTP/1.1\r\nHost: x\r\n'),
    ];
    for (const send of sends) {
      const { text, closed } = await rawExchange(port, send, { timeoutMs: bound });
      expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(jsonBodyOf(text)).toEqual({
        statusCode: 408,
        error: 'Request Timeout',
        message: `The request was not received within REQUEST_TIMEOUT_MS (${REQUEST_TIMEOUT_MS} ms)`,
      });
      expect(closed).toBe(true);
    }
  });

  it('logs an aborted upload at info, not as an error', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /submit/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n',
    );
    // Part of the body, then the client is gone (the write's callback: the bytes left before the reset).
    await new Promise<void>((resolve) =>
      socket.write(`{"tasks":[${'{"task_type":"echo","payload":1},'.repeat(3000)}`, () => resolve()),
    );
    socket.destroy();
    const line = await waitFor(() => stack.api.logs((l) => /client aborted/.test(String(l.msg)))[0], {
      what: 'the aborted upload to be logged',
    });
    expect(line.level).toBe(30);
    expect(stack.api.logs((l) => Number(l.level) >= 50)).toEqual([]);
  });

  it(`closes connections past MAX_CONNECTIONS (${MAX_CONNECTIONS}) at once, and serves again when they go`, async () => {
    const sockets: Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < MAX_CONNECTIONS + 16; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('close', () => closedByServer++);
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
    await waitFor(() => closedByServer >= 16, { what: 'the connections past the cap to be closed' });
    expect(sockets.length - closedByServer).toBeLessThanOrEqual(MAX_CONNECTIONS);
    sockets.forEach((socket) => socket.destroy());
    await waitFor(async () => (await http('GET', `${stack.api.url}/health/live`)).status === 200, {
      what: 'the api to serve again',
    });
  });

  it('held a GET /tasks/{id}?wait_ms=30000 to its end through every timeout above', async () => {
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('queued');
  });
});

describe('Redis out of memory (maxmemory, noeviction)', () => {
  let redis: OwnRedis;
  let stack: Stack;
  let filler: Redis;

  beforeAll(async () => {
    redis = await OwnRedis.create(['--maxmemory-policy', 'noeviction']);
    await redis.start();
    stack = new Stack({}, redis.url);
    await stack.startApi();
    await stack.startWorker();
    // The worker's boot migration ends by deleting its lock (a DEL, which Redis allows even out of memory):
    // let it finish, so the "nothing written" snapshots below see only what the refused requests did.
    await waitFor(
      async () =>
        (await stack.redis.get(schemaVersionKey(stack.prefix))) === String(KEY_SCHEMA_VERSION) &&
        (await stack.redis.exists(schemaMigrationLockKey(stack.prefix))) === 0,
      { what: "the worker's key schema migration to finish" },
    );
    filler = new Redis(redis.url);
  });
  afterAll(async () => {
    filler.disconnect();
    await stack.stop();
    await redis.destroy();
  });

  it('answers 503 that says so, writes nothing, goes not-ready while Redis refuses writes, and recovers', async () => {
    // 2 MB of other data, then a maxmemory below what is used: under noeviction every write is refused.
    const chunk = 'f'.repeat(64 * 1024);
    for (let i = 0; i < 32; i++) await filler.set(`filler:${i}`, chunk);
    const used = Number(/used_memory:(\d+)/.exec(await filler.info('memory'))![1]);
    await filler.config('SET', 'maxmemory', String(used - 1024 * 1024));
    await expect(filler.set('one-more', '1')).rejects.toThrow(/^OOM/);
    const before = await snapshotKeys(stack.redis, stack.prefix);
    const submit = await stack.submit({ task_type: 'echo', payload: 'no room' });
    expect(submit.status).toBe(503);
    expect(submit.headers.get('retry-after')).toBe('1');
    expect(submit.body.message).toBe('The task store (Redis) is unavailable; nothing was written. Retry later.');
    const batch = await http('POST', `${stack.api.url}/submit/batch`, { tasks: [{ task_type: 'echo', payload: 1 }] });
    expect(batch.status).toBe(503);
    expect(diffSnapshots(before, await snapshotKeys(stack.redis, stack.prefix))).toEqual([]);
    expect(stack.api.logs((l) => /out of memory/.test(String(l.msg))).length).toBeGreaterThan(0);

    for (const app of [stack.api, stack.workers[0]]) {
      const ready = await http('GET', `${app.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.error.redis).toMatchObject({ status: 'down', message: expect.stringMatching(/out of memory/) });
    }
    // Reads still work: an operator can look at what is there.
    expect((await http('GET', `${stack.api.url}/queues`)).status).toBe(200);

    await filler.flushdb();
    await waitFor(async () => (await http('GET', `${stack.api.url}/health/ready`)).status === 200, {
      what: 'readiness once memory is free',
    });
    const id = await stack.submitOk({ task_type: 'echo', payload: 'room again' });
    await stack.waitForStatus(id, ['succeeded']);
  });
});
