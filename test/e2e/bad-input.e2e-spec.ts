import { http, OwnRedis, waitFor } from '@app/testing';
import { Stack } from './harness';
import { keySet } from './keys';

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
