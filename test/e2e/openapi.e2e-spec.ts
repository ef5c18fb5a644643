import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEAD_REASONS } from '@app/queue';
import { http, JsonResponse, RecordedResponse } from '@app/testing';
import { OpenApiContract } from './contract/openapi-contract';
import { Stack } from './harness';

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..');

function recorded(method: string, url: string, res: JsonResponse): RecordedResponse {
  return { method, url, status: res.status, headers: Object.fromEntries(res.headers), body: res.body };
}

/** Runs a node CLI of this repo's node_modules; its exit code and output. */
function run(script: string, args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', script), ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, output: result.status === 0 ? '' : `${result.stdout}${result.stderr}` };
}

/** The OpenAPI document served at /docs-json: what it lists, that it lints, that clients can use it, that it holds. */
describe('the served OpenAPI document', () => {
  let stack: Stack;
  let document: Record<string, any>;
  /** One or more real responses of every operation, with the statuses they can answer. */
  const responses: RecordedResponse[] = [];

  beforeAll(async () => {
    stack = new Stack({ MAX_BODY_BYTES: '4096' });
    await stack.startApi();
    await stack.startWorker({ WORKER_QUEUES: 'default,oa' });
    document = (await http('GET', `${stack.api.url}/docs-json`)).body;

    const call = async (method: string, path: string, body?: unknown, init?: Parameters<typeof http>[3]) => {
      const url = `${stack.api.url}${path}`;
      const res = await http(method, url, body, init);
      responses.push(recorded(method, url, res));
      return res;
    };
    const done = await call('POST', '/submit', { task_type: 'echo', payload: { n: 1 }, queue: 'oa', priority: 5 });
    await call('POST', '/submit', { task_type: 'echo' });
    await call('POST', '/submit', { task_type: 'echo', payload: 'x'.repeat(5000) });
    await call('POST', '/submit', undefined, { raw: 'a=1', headers: { 'content-type': 'text/plain' } });
    await call('POST', '/submit/batch', {
      tasks: [
        { task_type: 'echo', payload: 1 },
        { task_type: 'sleep', payload: {} },
      ],
    });
    await call('POST', '/submit/batch', { tasks: [] });
    const dead = await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0 });
    const gone = await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0 });
    await stack.waitForStatus(dead, ['dead']);
    await stack.waitForStatus(gone, ['dead']);
    await stack.waitForStatus(done.body.task_id, ['succeeded']);
    await call('GET', `/tasks/${done.body.task_id}`);
    await call('GET', `/tasks/${dead}`);
    await call('GET', '/tasks/default.00000000-0000-0000-0000-000000000000');
    // Task history needs RESULTS_BACKEND=postgres (results-store.e2e-spec.ts runs it): 404 here.
    await call('GET', '/tasks?limit=1');
    await call('GET', '/tasks?limit=0');
    await call('GET', '/queues');
    await call('GET', '/queues?x=1');
    await call('GET', '/queues/oa');
    await call('GET', '/queues/oa/history?minutes=5');
    await call('GET', '/queues/oa/history?minutes=0');
    await call('GET', '/queues/nope/history');
    await call('GET', '/workers');
    await call('GET', '/queues/nope');
    await call('GET', '/queues/Not_A_Name');
    await call('POST', '/queues/oa/pause');
    await call('POST', '/queues/oa/resume');
    await call('PUT', '/queues/oa/limits', { rate: { max: 10, per_ms: 1000 }, concurrency: 5 });
    await call('PUT', '/queues/oa/limits', { rate: null, concurrency: null });
    await call('PUT', '/queues/oa/limits', { rate: { max: 0, per_ms: 1000 } });
    await call('POST', '/submit', { task_type: 'echo', payload: 1, queue: 'forgettable' });
    const forgettable = await call('GET', '/tasks?queue=forgettable&status=queued&limit=10');
    await call('POST', `/tasks/${forgettable.body.tasks[0].task_id}/cancel`);
    await call('POST', `/tasks/${forgettable.body.tasks[0].task_id}/cancel`);
    await call('POST', '/tasks/forgettable.00000000-0000-0000-0000-000000000000/cancel');
    await call('POST', `/tasks/${forgettable.body.tasks[0].task_id}/retry`);
    await call('POST', `/tasks/${forgettable.body.tasks[0].task_id}/retry`);
    await call('POST', '/tasks/forgettable.00000000-0000-0000-0000-000000000000/retry');
    await call('POST', '/submit', { task_type: 'echo', payload: 'purged', queue: 'forgettable', delay_ms: 600_000 });
    await call('DELETE', '/queues/forgettable/tasks?status=scheduled');
    await call('DELETE', '/queues/forgettable/tasks?status=queued');
    await call('POST', `/tasks/${forgettable.body.tasks[0].task_id}/cancel`);
    await call('DELETE', '/queues/forgettable/tasks');
    await call('DELETE', '/queues/nope/tasks?status=queued');
    await call('DELETE', '/queues/forgettable');
    await call('DELETE', '/queues/oa');
    await call('DELETE', '/queues/nope');
    await call('GET', '/tasks?status=nope');
    await call('GET', `/tasks/${done.body.task_id}?wait_ms=10`);
    await call('POST', '/submit', { task_type: 'echo', payload: 'once' }, { headers: { 'Idempotency-Key': 'oa-1' } });
    await call('POST', '/submit', { task_type: 'echo', payload: 'once' }, { headers: { 'Idempotency-Key': 'oa-1' } });
    await call('POST', '/submit', { task_type: 'echo', payload: 'twice' }, { headers: { 'Idempotency-Key': 'oa-1' } });
    await call('GET', '/dlq?limit=1');
    await call('GET', '/dlq?queue=default&limit=0');
    await call('POST', `/dlq/${done.body.task_id}/requeue`);
    await call('POST', `/dlq/${dead}/requeue`);
    await call('POST', '/dlq/default.00000000-0000-0000-0000-000000000000/requeue');
    await call('DELETE', `/dlq/${done.body.task_id}`);
    await call('DELETE', `/dlq/${gone}`);
    await call('DELETE', '/dlq/whatever');
    await call('DELETE', '/dlq');
    await call('DELETE', '/dlq?queue=oa');
    const nightly = { cron: '0 3 * * *', tz: 'Europe/Berlin', task: { task_type: 'echo', payload: { n: 1 } } };
    const schedule = await call('POST', '/schedules', { name: 'oa-nightly', ...nightly });
    await call('POST', '/schedules', { name: 'oa-nightly', ...nightly });
    await call('POST', '/schedules', { name: 'oa-bad', ...nightly, cron: '61 * * * *' });
    await call('POST', '/schedules', undefined, { raw: 'a=1', headers: { 'content-type': 'text/plain' } });
    await call('POST', '/schedules', {
      name: 'oa-big',
      ...nightly,
      task: { task_type: 'echo', payload: 'x'.repeat(5000) },
    });
    await call('GET', '/schedules');
    await call('GET', '/schedules?x=1');
    await call('GET', `/schedules/${schedule.body.schedule_id}`);
    await call('GET', '/schedules/oa-nowhere');
    await call('PUT', '/schedules/oa-every', { every_ms: 3_600_000, task: { task_type: 'echo', payload: 1 } });
    await call('PUT', '/schedules/oa-every', { every_ms: 3_600_000, task: { task_type: 'echo', payload: 1 } });
    await call('PUT', '/schedules/oa-every', {
      every_ms: 3_600_000,
      task: { task_type: 'echo', payload: 1, queue: 'oa' },
    });
    await call('PUT', '/schedules/oa-every', { every_ms: 1 });
    await call('PATCH', '/schedules/oa-nightly', { enabled: false });
    await call('PATCH', '/schedules/oa-nightly', { tz: 'Nowhere/Else' });
    await call('PATCH', '/schedules/oa-nowhere', { enabled: true });
    await call('DELETE', `/schedules/${schedule.body.schedule_id}`);
    await call('DELETE', `/schedules/${schedule.body.schedule_id}`);
    const key = await call('POST', '/auth/keys', {
      name: 'oa',
      scopes: ['read', 'submit'],
      queues: ['oa'],
      quota: { payload_bytes: 1024, per_seconds: 60 },
    });
    await call('POST', '/auth/keys', { name: 'oa', scopes: ['everything'] });
    await call('GET', '/auth/keys?limit=10');
    await call('GET', '/auth/keys?limit=0');
    await call('PATCH', `/auth/keys/${key.body.id}`, {
      rate_limit: { max: 500, per_ms: 1000 },
      quota: { tasks: 1_000_000, per_seconds: 3600 },
    });
    await call('PATCH', `/auth/keys/${key.body.id}`, { quota: null });
    await call('PATCH', `/auth/keys/${key.body.id}`, {});
    await call('PATCH', `/auth/keys/${key.body.id}`, { rate_limit: { max: 0, per_ms: 1000 } });
    await call('PATCH', '/auth/keys/000000000000', { rate_limit: null });
    await call('GET', '/auth/keys?limit=10');
    await call('DELETE', `/auth/keys/${key.body.id}`);
    await call('DELETE', `/auth/keys/${key.body.id}`);
    const upper = { payload_schema: { type: 'object', properties: { text: { type: 'string' } } }, queue: 'oa' };
    await call('PUT', '/task-types/oa.upper', upper);
    await call('PUT', '/task-types/oa.upper', { ...upper, backoff: { base_ms: 10 } });
    await call('PUT', '/task-types/oa.bad', { payload_schema: { $ref: 'https://example.com/s.json' } });
    await call('PUT', '/task-types/email', { payload_schema: true });
    await call('GET', '/task-types');
    await call('GET', '/task-types/email');
    await call('GET', '/task-types/oa.upper');
    await call('GET', '/task-types/oa.nothing');
    await call('DELETE', '/task-types/oa.upper');
    await call('DELETE', '/task-types/oa.upper');
    // The HTTP worker protocol, on a queue no native worker serves.
    await call('PUT', '/task-types/oa.remote', { payload_schema: { type: 'object' }, queue: 'oaw', max_retries: 1 });
    await call('POST', '/submit', { task_type: 'oa.remote', payload: {} });
    const claimWork = (wait_ms: number) => call('POST', '/work/claim', { worker_id: 'oa-1', queues: ['oaw'], wait_ms });
    const first = (await claimWork(5000)).body.tasks[0];
    await call('POST', '/work/claim', { worker_id: 'oa-1', queues: [] });
    await call('POST', '/work/claim', undefined, { raw: 'a=1', headers: { 'content-type': 'text/plain' } });
    await call('POST', `/work/${first.task_id}/heartbeat`, { lease_token: first.lease_token, progress: 10 });
    await call('POST', `/work/${first.task_id}/heartbeat`, { lease_token: 'oa-1:1:1' });
    await call('POST', '/work/oaw.0mxnothere11/heartbeat', { lease_token: 'oa-1:1:1' });
    await call('POST', `/work/${first.task_id}/fail`, { lease_token: first.lease_token, error: { message: 'once' } });
    await call('POST', `/work/${first.task_id}/fail`, { lease_token: first.lease_token, error: {} });
    const second = (await claimWork(5000)).body.tasks[0];
    await call('POST', `/work/${second.task_id}/complete`, { lease_token: second.lease_token, result: { ok: true } });
    await call('POST', `/work/${second.task_id}/complete`, { lease_token: second.lease_token, result: 1 });
    await call('POST', '/work/oaw.0mxnothere11/complete', { lease_token: 'oa-1:1:1' });
    await call('POST', '/work/oaw.0mxnothere11/fail', { lease_token: 'oa-1:1:1', error: { message: 'x' } });
    await call('POST', `/work/${second.task_id}/complete`, { lease_token: 1 });
    await claimWork(0);
    await call('GET', '/health/live');
    await call('GET', '/health/ready');
    await call('GET', '/health/ready?verbose=1');
    await call('GET', '/nowhere');
  });
  afterAll(() => stack.stop());

  it('lists every route, and passes Redocly’s recommended rules without a warning', () => {
    expect(Object.keys(document.paths).sort()).toEqual([
      '/auth/keys',
      '/auth/keys/{id}',
      '/dlq',
      '/dlq/{id}',
      '/dlq/{id}/requeue',
      '/health/live',
      '/health/ready',
      '/queues',
      '/queues/{name}',
      '/queues/{name}/history',
      '/queues/{name}/limits',
      '/queues/{name}/pause',
      '/queues/{name}/resume',
      '/queues/{name}/tasks',
      '/schedules',
      '/schedules/{schedule}',
      '/submit',
      '/submit/batch',
      '/task-types',
      '/task-types/{name}',
      '/tasks',
      '/tasks/{id}',
      '/tasks/{id}/cancel',
      '/tasks/{id}/retry',
      '/work/claim',
      '/work/{id}/complete',
      '/work/{id}/fail',
      '/work/{id}/heartbeat',
      '/workers',
    ]);
    expect(Object.keys(document.paths['/submit'].post.responses).sort()).toEqual([
      '200',
      '202',
      '400',
      '401',
      '403',
      '408',
      '409',
      '413',
      '415',
      '429',
      '431',
      '503',
    ]);
    // What Node and Fastify answer before any handler, on every operation they can reach.
    for (const [path, item] of Object.entries<Record<string, any>>(document.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        const expected = [
          '408',
          '431',
          ...(['post', 'put', 'patch', 'delete'].includes(method) ? ['400', '413', '415'] : []),
        ];
        const where = `${method.toUpperCase()} ${path}`;
        expect({ where, missing: expected.filter((status) => !operation.responses[status]) }).toEqual({
          where,
          missing: [],
        });
      }
    }
    const file = join(mkdtempSync(join(tmpdir(), 'taskq-openapi-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const lint = spawnSync('npx', ['redocly', 'lint', file], { encoding: 'utf8' });
    expect({ status: lint.status, warnings: /You have \d+ warnings?/.exec(lint.stdout + lint.stderr)?.[0] }).toEqual({
      status: 0,
      warnings: undefined,
    });
  });

  it("states a key's limits in every answer about it: rate_limit and quota always there, null for the defaults", () => {
    for (const name of ['ApiKeyDto', 'CreatedApiKeyDto']) {
      const schema = document.components.schemas[name];
      expect({ name, required: schema.required }).toEqual({
        name,
        required: expect.arrayContaining(['rate_limit', 'quota']),
      });
      expect(schema.properties.rate_limit).toMatchObject({ nullable: true, required: ['max', 'per_ms'] });
      expect(schema.properties.quota).toMatchObject({
        nullable: true,
        required: ['tasks', 'payload_bytes', 'per_seconds'],
      });
    }
  });

  it('states the security of every operation: an API key or a bearer token, with 401, 403 and 429; health needs none', () => {
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['api-key', 'bearer']);
    for (const [path, item] of Object.entries<Record<string, any>>(document.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        if (path.startsWith('/health/')) {
          expect({ where, security: operation.security }).toEqual({ where, security: undefined });
          continue;
        }
        expect({ where, security: operation.security }).toEqual({
          where,
          security: [{ 'api-key': [] }, { bearer: [] }],
        });
        expect({ where, statuses: ['401', '403', '429'].filter((s) => !operation.responses[s]) }).toEqual({
          where,
          statuses: [],
        });
        expect(operation.responses['401'].headers['WWW-Authenticate'].required).toBe(true);
        expect(operation.responses['429'].headers['Retry-After'].required).toBe(true);
      }
    }
    expect(document.security).toEqual([]);
  });

  it('describes every response of every operation, exercised here', () => {
    const contract = new OpenApiContract(document);
    expect(responses.flatMap((response) => contract.check(response))).toEqual([]);
    const operations = Object.entries<Record<string, unknown>>(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map(
        (method) => `${method.toUpperCase()} ${new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/?]+')}(\\?|$)`).source}`,
      ),
    );
    const exercised = operations.filter((operation) => {
      const [method, pattern] = operation.split(' ');
      return responses.some(
        (r) => r.method === method && new RegExp(pattern).test(new URL(r.url).pathname + new URL(r.url).search),
      );
    });
    expect(exercised).toEqual(operations);
  });

  it('fails a response the document does not describe', () => {
    const task = responses.find((r) => r.method === 'GET' && r.status === 200 && r.url.includes('/tasks/'))!;
    const accepted = responses.find((r) => r.status === 202 && r.url.endsWith('/submit'))!;
    const notFound = responses.find((r) => r.status === 404 && r.url.includes('/tasks/'))!;
    const base = new OpenApiContract(document);
    expect([task, accepted, notFound].flatMap((r) => base.check(r))).toEqual([]);

    // A wrong schema: priority documented as a string.
    const wrongType = structuredClone(document);
    wrongType.components.schemas.TaskDto.properties.priority.type = 'string';
    expect(new OpenApiContract(wrongType).check(task)).toEqual([
      expect.stringMatching(/body\/priority must be string/),
    ]);
    // An undocumented status.
    const no404 = structuredClone(document);
    delete no404.paths['/tasks/{id}'].get.responses['404'];
    expect(new OpenApiContract(no404).check(notFound)).toEqual([expect.stringMatching(/status 404 is not documented/)]);
    // A documented header missing, a field nobody documented, a route that answers outside the error shape.
    expect(base.check({ ...accepted, headers: {} })).toEqual([expect.stringMatching(/header Location is missing/)]);
    expect(base.check({ ...task, body: { ...(task.body as object), colour: 'red' } })).toEqual([
      expect.stringMatching(/must NOT have additional properties .*colour/),
    ]);
    expect(base.check({ ...notFound, url: `${stack.api.url}/nowhere`, body: { ok: true } })).not.toEqual([]);
  });

  it('makes a client with openapi-typescript (default settings) that compiles: submit with only task_type and payload, read a task', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskq-client-'));
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
    expect(run('openapi-typescript/bin/cli.js', ['openapi.json', '-o', 'schema.d.ts'], dir)).toEqual({
      status: 0,
      output: '',
    });
    writeFileSync(
      join(dir, 'usage.ts'),
      `import type { components, paths } from './schema';

type SubmitBody = paths['/submit']['post']['requestBody']['content']['application/json'];
type Accepted = paths['/submit']['post']['responses'][202]['content']['application/json'];
type Task = components['schemas']['TaskDto'];
type DeadReason = ${DEAD_REASONS.map((reason) => `'${reason}'`).join(' | ')};

export const objectPayload: SubmitBody = { task_type: 'echo', payload: { to: 'ops@example.com', tags: ['a', 1, null] } };
export const stringPayload: SubmitBody = { task_type: 'email', payload: 'hello@domain.com' };

export function describe(accepted: Accepted, task: Task): string {
  const result: unknown = task.result;
  const reason: DeadReason | null = task.dead_reason;
  const attempts: number = task.attempts;
  return [accepted.task_id, accepted.status, task.status, attempts, String(result), reason ?? '-'].join(' ');
}
`,
    );
    const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', 'usage.ts'];
    expect(run('typescript/bin/tsc', args, dir)).toEqual({ status: 0, output: '' });
  });
});
