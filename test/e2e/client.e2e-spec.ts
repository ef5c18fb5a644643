import { randomBytes } from 'node:crypto';
import { TaskqClient, TaskqHttpError, TaskqUnreachableError, TaskSummary } from '@app/client';
import { OwnRedis } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(120_000);

const newKey = () => `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** libs/client against the built apps with API keys on: every call goes over real HTTP to a real api and worker. */
describe('TaskqClient against the real apps (AUTH_MODE=api-key)', () => {
  const admin = newKey();
  let stack: Stack;
  let client: TaskqClient;

  beforeAll(async () => {
    stack = new Stack({ AUTH_MODE: 'api-key', BOOTSTRAP_ADMIN_KEY: admin });
    await stack.startApi();
    await stack.startWorker({ WORKER_QUEUES: 'c1,c2,c3' });
    client = new TaskqClient({ baseUrl: stack.api.url, apiKey: admin });
  });
  afterAll(async () => {
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
  });

  it('submits, waits for the result without polling, reads the task, and a replayed submit writes nothing', async () => {
    const submitted = await client.submit({ task_type: 'echo', payload: { n: 1 }, queue: 'c1' });
    expect(submitted).toMatchObject({ status: 'queued', queue: 'c1' });
    const task = await client.wait(submitted.task_id, { timeoutMs: 15_000 });
    expect(task).toMatchObject({ task_id: submitted.task_id, status: 'succeeded', payload: { n: 1 } });
    expect((await client.get(submitted.task_id)).status).toBe('succeeded');

    const again = await client.submit({ task_type: 'echo', payload: 2, queue: 'c1' }, { idempotencyKey: 'k-1' });
    const replay = await client.submit({ task_type: 'echo', payload: 2, queue: 'c1' }, { idempotencyKey: 'k-1' });
    expect(replay.task_id).toBe(again.task_id);
  });

  it('wait returns the task as it stands at the deadline when it has not finished', async () => {
    const { task_id } = await client.submit({ task_type: 'echo', payload: 1, queue: 'c-held', delay_ms: 600_000 });
    const started = Date.now();
    const task = await client.wait(task_id, { timeoutMs: 700 });
    expect(task.status).toBe('scheduled');
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect((await client.cancel(task_id)).status).toBe('cancelled');
  });

  it('submitMany keeps request order; list walks every page of a state, and searches it', async () => {
    await client.pause('c2');
    const tasks = Array.from({ length: 7 }, (_, i) => ({ task_type: 'echo', payload: i, queue: 'c2' }));
    const { task_ids } = await client.submitMany(tasks);
    expect(task_ids).toHaveLength(7);
    const listed = await collect<TaskSummary>(client.list({ status: 'queued', queue: 'c2', limit: 2 }));
    expect(listed.map((t) => t.task_id).sort()).toEqual([...task_ids].sort());
    // q searches: a whole id finds its task (the same call's ids share every digit but the last ones).
    const found = await collect<TaskSummary>(client.list({ status: 'queued', queue: 'c2', q: task_ids[3] }));
    expect(found.map((t) => t.task_id)).toEqual([task_ids[3]]);
    expect((await client.queue('c2')).paused).toBe(true);
    expect((await client.resume('c2')).paused).toBe(false);
    for (const id of task_ids) expect((await client.wait(id, { timeoutMs: 15_000 })).status).toBe('succeeded');
  });

  it('dead-letter queue: lists, requeues, deletes and purges dead tasks', async () => {
    const ids = await Promise.all(
      [1, 2, 3].map(
        async () => (await client.submit({ task_type: 'fail', payload: {}, max_retries: 0, queue: 'c3' })).task_id,
      ),
    );
    for (const id of ids) expect((await client.wait(id, { timeoutMs: 15_000 })).status).toBe('dead');
    const dead = await collect(client.dead({ queue: 'c3', limit: 1 }));
    expect(dead.map((t) => t.task_id).sort()).toEqual([...ids].sort());
    expect((await client.requeueDead(ids[0])).status).toMatch(/queued|active|retrying|dead/);
    await client.deleteDead(ids[1]);
    await expect(client.get(ids[1])).rejects.toMatchObject({ status: 404 });
    await client.wait(ids[0], { timeoutMs: 15_000 });
    expect(await client.purgeDead('c3')).toBe(2);
    expect(await collect(client.dead({ queue: 'c3' }))).toEqual([]);
  });

  it('retries a finished task under its id and purges the waiting tasks of a queue', async () => {
    const { task_id } = await client.submit({ task_type: 'echo', payload: 'twice', queue: 'c1' });
    await client.wait(task_id, { timeoutMs: 15_000 });
    expect((await client.retry(task_id)).task_id).toBe(task_id);
    const again = await client.wait(task_id, { timeoutMs: 15_000 });
    expect(again.attempts_history.map((a) => a.outcome)).toEqual(['succeeded', 'succeeded']);
    await expect(client.retry('c1.00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({ status: 404 });

    const later = await client.submitMany(
      [1, 2, 3].map((n) => ({ task_type: 'echo', payload: n, queue: 'c-held', delay_ms: 600_000 })),
    );
    expect(await client.purgeTasks('c-held', 'scheduled')).toBe(3);
    for (const id of later.task_ids) await expect(client.get(id)).rejects.toMatchObject({ status: 404 });
    expect((await client.queue('c-held')).purged).toBe(3);
  });

  it('schedules, workers, limits and API keys; errors carry the status and the error body', async () => {
    const schedule = await client.createSchedule({
      name: 'client-e2e',
      every_ms: 3_600_000,
      task: { task_type: 'echo', payload: 'tick', queue: 'c4' },
    });
    expect(schedule.next_runs).toHaveLength(5);
    await client.putSchedule('client-e2e-2', {
      every_ms: 3_600_000,
      task: { task_type: 'echo', payload: 2, queue: 'c4' },
    });
    // Page after page (one schedule a page here): both, by name.
    expect((await collect(client.schedules({ queue: 'c4', limit: 1 }))).map((s) => s.name)).toEqual([
      'client-e2e',
      'client-e2e-2',
    ]);
    await client.deleteSchedule('client-e2e-2');
    expect((await client.updateSchedule('client-e2e', { enabled: false })).enabled).toBe(false);
    await client.deleteSchedule('client-e2e');
    await expect(client.schedule('client-e2e')).rejects.toBeInstanceOf(TaskqHttpError);

    expect((await client.workers()).length).toBeGreaterThanOrEqual(1);
    const limited = await client.setLimits('c4', { rate: { max: 5, per_ms: 1000 }, concurrency: 2 });
    expect(limited.limits).toMatchObject({ rate: { max: 5, per_ms: 1000 }, concurrency: 2 });

    const reader = await client.createKey({ name: 'client-reader', scopes: ['read'], queues: ['c4'] });
    expect((await collect(client.keys())).map((k) => k.id)).toContain(reader.id);
    expect(reader).toMatchObject({ rate_limit: null, quota: null });
    const updated = await client.updateKey(reader.id, { rate_limit: { max: 500, per_ms: 1000 } });
    expect(updated).toMatchObject({ id: reader.id, rate_limit: { max: 500, per_ms: 1000 }, quota: null });
    const readOnly = new TaskqClient({ baseUrl: stack.api.url, apiKey: reader.key });
    expect((await readOnly.queue('c4')).queue).toBe('c4');
    const refused = await readOnly.submit({ task_type: 'echo', payload: 1, queue: 'c4' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TaskqHttpError);
    expect(refused).toMatchObject({ status: 403, body: { missing_scope: 'submit' } });
    await client.revokeKey(reader.id);
    await expect(readOnly.queues()).rejects.toMatchObject({ status: 401 });

    const missing = await client.get('c4.00000000-0000-0000-0000-000000000000').catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, body: { statusCode: 404, message: expect.any(String) } });
  });

  it('says the api is unreachable when nothing listens', async () => {
    const nobody = new TaskqClient({ baseUrl: 'http://127.0.0.1:9', apiKey: admin });
    await expect(nobody.queues()).rejects.toBeInstanceOf(TaskqUnreachableError);
  });
});

describe('TaskqClient retries a 503 after Retry-After with one idempotency key', () => {
  let redis: OwnRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await OwnRedis.create();
    await redis.start();
    stack = new Stack({ REDIS_COMMAND_TIMEOUT_MS: '500' }, redis.url);
    await stack.startApi();
  });
  afterAll(async () => {
    await stack.stop();
    await redis.destroy();
  });

  it('submits while Redis is down, retries once it is back, and writes the task once', async () => {
    await redis.kill();
    const retries: { attempt: number; delayMs: number }[] = [];
    let firstRetry!: () => void;
    const retried = new Promise<void>((resolve) => (firstRetry = resolve));
    const client = new TaskqClient({
      baseUrl: stack.api.url,
      retries503: 30,
      onRetry: ({ attempt, delayMs }) => {
        retries.push({ attempt, delayMs });
        firstRetry();
      },
    });
    const submitting = client.submit({ task_type: 'echo', payload: 'through an outage', queue: 'c5' });
    await retried;
    await redis.start();
    const submitted = await submitting;
    // The api's Retry-After is 1 s; the client waited that long before each retry.
    expect(retries[0]).toEqual({ attempt: 1, delayMs: 1000 });
    const queued = await collect(client.list({ status: 'queued', queue: 'c5' }));
    expect(queued.map((t) => t.task_id)).toEqual([submitted.task_id]);
  });
});
