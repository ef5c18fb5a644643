import { randomBytes } from 'node:crypto';
import { taskTypesKey } from '@app/queue';
import { AppProcess, http, waitFor } from '@app/testing';
import { bearer, createKeyFromShell } from './api-keys';
import { Stack } from './harness';

jest.setTimeout(120_000);

const UPPER = {
  payload_schema: {
    type: 'object',
    properties: { text: { type: 'string', maxLength: 100 }, reply_to: { type: 'string', format: 'email' } },
    required: ['text'],
    additionalProperties: false,
  },
  max_retries: 2,
  timeout_ms: 5000,
  backoff: { base_ms: 50, max_ms: 500 },
  queue: 'py',
  description: 'Upper-cases text (a Python worker)',
};

const upper = (payload: unknown) => ({ task_type: 'py.upper', payload });

describe('task types defined at run time (PUT /task-types/{name}) over the built api', () => {
  let stack: Stack;
  let other: AppProcess | undefined;

  afterEach(async () => {
    await other?.stop();
    other = undefined;
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
  });

  it('defined through one replica, accepted by both, payloads checked by its schema; deleted, refused by both', async () => {
    stack = new Stack();
    const api = await stack.startApi();
    other = await AppProcess.start('api', stack.baseEnv);
    const submitTo = (replica: AppProcess, body: unknown) => http('POST', `${replica.url}/submit`, body);

    const before = await submitTo(other, upper({ text: 'hi' }));
    expect(before.status).toBe(400);
    expect(before.body.errors).toEqual([expect.objectContaining({ field: 'task_type', rule: 'isRegisteredTaskType' })]);

    const created = await http('PUT', `${api.url}/task-types/py.upper`, UPPER);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'py.upper',
      source: 'runtime',
      payload_schema: UPPER.payload_schema,
      max_retries: 2,
      timeout_ms: 5000,
      backoff: { base_ms: 50, max_ms: 500 },
      queue: 'py',
    });

    // The replica that took the PUT accepts the type before it answers; the other within its refresh.
    const id = ((await submitTo(api, upper({ text: 'hi' }))).body as { task_id: string }).task_id;
    expect(id).toMatch(/^py\./);
    await waitFor(async () => ((await submitTo(other!, upper({ text: 'ho' }))).status === 202 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the other replica to accept py.upper',
    });

    for (const [payload, field, rule] of [
      [{ text: 5 }, 'payload.text', 'type'],
      [{}, 'payload.text', 'required'],
      [{ text: 'a', reply_to: 'not-an-address' }, 'payload.reply_to', 'format'],
      [{ text: 'a', extra: true }, 'payload.extra', 'additionalProperties'],
      ['bare', 'payload', 'type'],
    ] as const) {
      const refused = await submitTo(other, upper(payload));
      expect({ status: refused.status, errors: refused.body.errors }).toEqual({
        status: 400,
        errors: [expect.objectContaining({ field, rule })],
      });
    }
    const batch = await http('POST', `${other.url}/submit/batch`, {
      tasks: [upper({ text: 'ok' }), upper({ text: 7 })],
    });
    expect(batch.status).toBe(400);
    expect(batch.body.errors).toEqual([expect.objectContaining({ field: 'tasks.1.payload.text', rule: 'type' })]);

    // Its settings are fixed on each task at submit: the queue, max_retries, timeout_ms and its retry curve.
    const task = await stack.task(id);
    expect(task.body).toMatchObject({
      task_type: 'py.upper',
      queue: 'py',
      max_retries: 2,
      timeout_ms: 5000,
      backoff: { type: 'exponential', base_ms: 50, max_ms: 500, jitter: true },
    });
    // A submit's own queue and settings still win.
    const own = await submitTo(api, { ...upper({ text: 'x' }), queue: 'default', max_retries: 0 });
    expect((await stack.task(own.body.task_id)).body).toMatchObject({ queue: 'default', max_retries: 0 });

    const replaced = await http('PUT', `${other.url}/task-types/py.upper`, { ...UPPER, description: 'v2' });
    expect(replaced.status).toBe(200);
    expect(replaced.body.created_at).toBe(created.body.created_at);
    expect(replaced.body.description).toBe('v2');

    const list = await http('GET', `${api.url}/task-types`);
    expect(list.status).toBe(200);
    const byName = new Map((list.body.task_types as { name: string }[]).map((type) => [type.name, type]));
    expect(byName.get('email')).toMatchObject({ source: 'code', max_retries: 5, queue: 'default' });
    expect(byName.get('email')).not.toHaveProperty('payload_schema');
    expect(byName.get('py.upper')).toMatchObject({ source: 'runtime', payload_schema: UPPER.payload_schema });
    expect((await http('GET', `${api.url}/task-types/email`)).body).toMatchObject({ name: 'email', source: 'code' });
    // The replica that took the change reads its own write.
    expect((await http('GET', `${other.url}/task-types/py.upper`)).body).toMatchObject({ description: 'v2' });
    expect((await http('GET', `${api.url}/task-types/py.nothing`)).status).toBe(404);

    // The OpenAPI document lists every type, those defined at run time too.
    const document = await http('GET', `${other.url}/docs-json`);
    const listed = (document.body['x-task-types'] as { name: string; source: string }[]).map((t) => [t.name, t.source]);
    expect(listed).toEqual(
      expect.arrayContaining([
        ['email', 'code'],
        ['py.upper', 'runtime'],
      ]),
    );

    expect((await http('DELETE', `${api.url}/task-types/py.upper`)).status).toBe(204);
    expect((await submitTo(api, upper({ text: 'hi' }))).status).toBe(400);
    await waitFor(async () => ((await submitTo(other!, upper({ text: 'hi' }))).status === 400 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the other replica to refuse py.upper once deleted',
    });
    expect((await http('DELETE', `${api.url}/task-types/py.upper`)).status).toBe(404);
    // The tasks submitted meanwhile stay.
    expect((await stack.task(id)).body).toMatchObject({ status: 'queued' });
  });

  it('refuses a bad definition with 400 naming the field, a type defined in code with 409, and writes nothing', async () => {
    stack = new Stack();
    const api = await stack.startApi();
    const put = (name: string, body: unknown) => http('PUT', `${api.url}/task-types/${name}`, body);
    for (const [body, field, rule] of [
      [{ payload_schema: { $ref: 'https://example.com/s.json' } }, 'payload_schema.$ref', 'localRef'],
      [
        { payload_schema: { type: 'object', properties: { a: { type: 'text' } } } },
        'payload_schema.properties.a.type',
        'validSchema',
      ],
      [{ payload_schema: { type: 'string', minLenght: 1 } }, 'payload_schema', 'validSchema'],
      [{ payload_schema: 'string' }, 'payload_schema', 'isSchema'],
      [{}, 'payload_schema', 'isPresent'],
      [{ payload_schema: true, max_retries: 1000 }, 'max_retries', 'max'],
      [{ payload_schema: true, queue: 'Not A Queue' }, 'queue', 'matches'],
      [{ payload_schema: true, backoff: { base_ms: 0 } }, 'backoff.base_ms', 'min'],
      [{ payload_schema: true, colour: 'red' }, 'colour', 'unknownField'],
    ] as const) {
      const refused = await put('py.upper', body);
      expect({ status: refused.status, field: refused.body.errors?.[0]?.field }).toEqual({ status: 400, field });
      expect(refused.body.errors[0].rule).toBe(rule);
    }
    expect((await put('not%20a%20name', { payload_schema: true })).status).toBe(400);
    const code = await put('email', { payload_schema: true });
    expect(code.status).toBe(409);
    expect(code.body.message).toContain('defined in code');
    expect((await http('DELETE', `${api.url}/task-types/email`)).status).toBe(409);
    expect(await stack.redis.exists(taskTypesKey(stack.prefix))).toBe(0);
  });

  it('takes changes from admin keys only; read keys see the types', async () => {
    const admin = `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;
    stack = new Stack({ AUTH_MODE: 'api-key', BOOTSTRAP_ADMIN_KEY: admin });
    const api = await stack.startApi();
    const reader = createKeyFromShell(stack, ['--name', 'dashboard', '--scopes', 'read']);
    const denied = await http('PUT', `${api.url}/task-types/py.upper`, UPPER, bearer(reader));
    expect(denied.status).toBe(403);
    expect((await http('PUT', `${api.url}/task-types/py.upper`, UPPER, bearer(admin))).status).toBe(201);
    const seen = await http('GET', `${api.url}/task-types/py.upper`, undefined, bearer(reader));
    expect(seen).toMatchObject({ status: 200, body: { source: 'runtime' } });
    expect((await http('DELETE', `${api.url}/task-types/py.upper`, undefined, bearer(reader))).status).toBe(403);

    // Its queue (py) is where a submit or a schedule that names none goes: a credential kept to another
    // queue may neither submit it there nor schedule it, nor define a type for a queue it may not use.
    const emailsOnly = createKeyFromShell(stack, [
      '--name',
      'emails',
      '--scopes',
      'submit,admin',
      '--queues',
      'emails',
    ]);
    const submitted = await http('POST', `${api.url}/submit`, upper({ text: 'a' }), bearer(emailsOnly));
    expect(submitted).toMatchObject({ status: 403, body: { queue: 'py', message: expect.stringMatching(/^queue: /) } });
    const toEmails = await http(
      'POST',
      `${api.url}/submit`,
      { ...upper({ text: 'a' }), queue: 'emails' },
      bearer(emailsOnly),
    );
    expect(toEmails.status).toBe(202);
    const schedule = { every_ms: 3_600_000, task: upper({ text: 'a' }) };
    const scheduled = await http('PUT', `${api.url}/schedules/py-hourly`, schedule, bearer(emailsOnly));
    expect(scheduled).toMatchObject({
      status: 403,
      body: { queue: 'py', message: expect.stringMatching(/^task\.queue: /) },
    });
    // The same template from an admin of every queue: its tasks go to the type's queue with its settings.
    const ownQueue = await http('PUT', `${api.url}/schedules/py-hourly`, schedule, bearer(admin));
    expect(ownQueue).toMatchObject({ status: 201, body: { task: { queue: 'py', max_retries: 2, timeout_ms: 5000 } } });
    const elsewhere = await http('PUT', `${api.url}/task-types/py.lower`, UPPER, bearer(emailsOnly));
    expect(elsewhere.status).toBe(403);
  });
});
