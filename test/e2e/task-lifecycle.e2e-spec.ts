import { queueKeys } from '@app/queue';
import { http, snapshotKeys, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(60_000);

describe('task lifecycle over HTTP, real api and worker processes', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack();
    await stack.startApi();
  });
  afterAll(() => stack.stop());

  afterEach(async () => {
    expect(await stack.invariant()).toEqual([]);
  });

  it("runs the README's curl example to success, with a Location header and a result", async () => {
    if (!stack.workers.length) await stack.startWorker({ WORKER_CONCURRENCY: '4' });
    const res = await stack.submit({ task_type: 'email', payload: 'hello@domain.com' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ task_id: expect.stringMatching(/^default\./), status: 'queued', queue: 'default' });
    expect(res.headers.get('location')).toBe(`/tasks/${res.body.task_id}`);
    const done = await stack.waitForStatus(res.body.task_id, ['succeeded']);
    expect(done).toMatchObject({ task_type: 'email', attempts: 1, result: { delivered_to: 'hello@domain.com' } });
    expect(Date.parse(done.finished_at)).toBeGreaterThanOrEqual(Date.parse(done.started_at));
    // Only dead tasks can be requeued or deleted from the DLQ.
    expect((await http('POST', `${stack.api.url}/dlq/${res.body.task_id}/requeue`)).status).toBe(409);
    expect((await http('DELETE', `${stack.api.url}/dlq/${res.body.task_id}`)).status).toBe(409);
  });

  it('retries a failing task, dead-letters it, requeues it (attempts reset) and it dies again', async () => {
    if (!stack.workers.length) await stack.startWorker({ WORKER_CONCURRENCY: '4' });
    const id = await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 2 });
    const dead = await stack.waitForStatus(id, ['dead']);
    expect(dead).toMatchObject({
      attempts: 3,
      dead_reason: 'max_retries',
      last_error: 'Error: planned failure 3 of always',
    });

    const listed = await http('GET', `${stack.api.url}/dlq?queue=default`);
    expect(listed.body.tasks.map((t: { task_id: string }) => t.task_id)).toContain(id);

    const requeued = await http('POST', `${stack.api.url}/dlq/${id}/requeue`);
    expect(requeued.status).toBe(200);
    // The worker may already hold it again; either way its attempts started over.
    expect(['queued', 'active', 'retrying']).toContain(requeued.body.status);
    expect(requeued.body.attempts).toBeLessThanOrEqual(1);
    expect(requeued.body.dead_reason).toBeNull();

    const deadAgain = await stack.waitForStatus(id, ['dead']);
    expect(deadAgain).toMatchObject({ attempts: 3, dead_reason: 'max_retries' });
    // Every task line of the worker is one JSON object naming the task.
    const lines = stack.workers[0].logs((l) => l.taskId === id);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: expect.any(Number),
        time: expect.any(Number),
        app: 'worker',
        taskId: id,
        taskType: 'fail',
        queue: 'default',
        msg: expect.any(String),
      });
    }
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^task failed; retry in \d+ ms$/),
        expect.stringMatching(/^task dead-lettered \(max_retries\)/),
      ]),
    );
    expect((await http('DELETE', `${stack.api.url}/dlq/${id}`)).status).toBe(204);
    expect((await stack.task(id)).status).toBe(404);
  });

  it('succeeds on a later attempt when a task fails only its first runs', async () => {
    if (!stack.workers.length) await stack.startWorker({ WORKER_CONCURRENCY: '4' });
    const id = await stack.submitOk({ task_type: 'fail', payload: { fail_times: 2 }, max_retries: 3 });
    const done = await stack.waitForStatus(id, ['succeeded']);
    expect(done).toMatchObject({
      attempts: 3,
      result: { succeeded_on_attempt: 3 },
      last_error: 'Error: planned failure 2 of 2',
    });
  });

  it('accepts a batch in request order, all or nothing', async () => {
    const bad = await http('POST', `${stack.api.url}/submit/batch`, {
      tasks: [
        { task_type: 'echo', payload: 1 },
        { task_type: 'email', payload: 'not-an-address' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ field: 'tasks.1.payload.to', rule: 'isEmail' });

    const tasks = Array.from({ length: 50 }, (_, i) => ({ task_type: 'echo', payload: { i } }));
    const res = await http('POST', `${stack.api.url}/submit/batch`, { tasks });
    expect(res.status).toBe(202);
    expect(res.body.task_ids).toHaveLength(50);
    const results = await Promise.all(res.body.task_ids.map((id: string) => stack.waitForStatus(id, ['succeeded'])));
    expect(results.map((r) => r.result.i)).toEqual(tasks.map((t) => t.payload.i));
  });

  it("gives a task its type's defaults: the contract's max_retries, else DEFAULT_MAX_RETRIES", async () => {
    if (!stack.workers.length) await stack.startWorker({ WORKER_CONCURRENCY: '4' });
    const email = await stack.submitOk({ task_type: 'email', payload: 'a@example.com' });
    const echo = await stack.submitOk({ task_type: 'echo', payload: 1, timeout_ms: 1234 });
    expect((await stack.task(email)).body).toMatchObject({ max_retries: 5, timeout_ms: 60_000 });
    expect((await stack.task(echo)).body).toMatchObject({ max_retries: 3, timeout_ms: 1234 });
    await stack.waitForStatus(email, ['succeeded']);
    await stack.waitForStatus(echo, ['succeeded']);
  });

  it("purges a queue's dead-letter queue over HTTP", async () => {
    const ids = await stack.submitBatch(
      Array.from({ length: 3 }, () => ({ task_type: 'fail', payload: {}, max_retries: 0, queue: 'purged' })),
    );
    await stack.startWorker({ WORKER_QUEUES: 'purged' });
    await Promise.all(ids.map((id) => stack.waitForStatus(id, ['dead'])));
    const purged = await http('DELETE', `${stack.api.url}/dlq?queue=purged`);
    expect(purged).toMatchObject({ status: 200, body: { deleted: 3 } });
    for (const id of ids) expect((await stack.task(id)).status).toBe(404);
    expect((await http('GET', `${stack.api.url}/dlq?queue=purged`)).body.tasks).toEqual([]);
    expect(await stack.invariant('purged')).toEqual([]);
  });

  it('lists per-queue counts', async () => {
    const res = await http('GET', `${stack.api.url}/queues`);
    expect(res.status).toBe(200);
    const queue = res.body.queues.find((q: { queue: string }) => q.queue === 'default');
    expect(queue.counts).toEqual(
      expect.objectContaining({ queued: expect.any(Number), succeeded: expect.any(Number) }),
    );
    expect(queue.counts.succeeded).toBeGreaterThan(0);
  });
});

describe('retention and limits', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack({ RESULT_TTL_SECONDS: '1', MAX_QUEUES: '2', RECOVERY_INTERVAL_MS: '200' });
    await stack.startApi();
    await stack.startWorker(); // serves (and registers) `default`
  });
  afterAll(() => stack.stop());

  it('forgets a finished task after RESULT_TTL_SECONDS, and its index entry with it', async () => {
    const id = await stack.submitOk({ task_type: 'echo', payload: 'short-lived' });
    await stack.waitForStatus(id, ['succeeded']);
    await waitFor(async () => (await stack.task(id)).status === 404, { what: 'the result to expire' });
    const succeeded = queueKeys(stack.prefix, 'default').succeeded;
    await waitFor(async () => (await stack.redis.zcard(succeeded)) === 0, { what: 'the recoverer to sweep the index' });
    expect(await stack.invariant()).toEqual([]);
  });

  it('refuses a queue past MAX_QUEUES with 409, writing none of the batch', async () => {
    // No worker from here on: its recoverer's lock key would come and go under the snapshot. The lock
    // the last one took lapses by itself (RECOVERY_INTERVAL_MS): waited for, not raced.
    await Promise.all(stack.workers.map((worker) => worker.stop('SIGTERM')));
    const lock = queueKeys(stack.prefix, 'default').recoverLock;
    await waitFor(async () => (await stack.redis.exists(lock)) === 0, { what: "the recoverer's lock to lapse" });
    expect((await stack.submit({ task_type: 'echo', payload: 1, queue: 'second' })).status).toBe(202);
    const before = await snapshotKeys(stack.redis, stack.prefix);
    const res = await http('POST', `${stack.api.url}/submit/batch`, {
      tasks: [
        { task_type: 'echo', payload: 1 },
        { task_type: 'echo', payload: 2, queue: 'third' },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/MAX_QUEUES/);
    expect(await snapshotKeys(stack.redis, stack.prefix)).toEqual(before);
    expect((await http('GET', `${stack.api.url}/queues`)).body.queues.map((q: { queue: string }) => q.queue)).toEqual([
      'default',
      'second',
    ]);
  });
});

describe('ordering and timing', () => {
  let stack: Stack;

  beforeEach(async () => {
    stack = new Stack();
    await stack.startApi();
  });
  afterEach(async () => {
    expect(await stack.invariant()).toEqual([]);
    await stack.stop();
  });

  it('runs higher priority first and FIFO within a priority', async () => {
    const submitted: { id: string; priority: number; n: number }[] = [];
    for (const [n, priority] of [0, -10, 50, 0, 50, -10, 100].entries()) {
      submitted.push({ id: await stack.submitOk({ task_type: 'sleep', payload: { ms: 15 }, priority }), priority, n });
    }
    await stack.startWorker({ WORKER_CONCURRENCY: '1' });
    const done = await Promise.all(submitted.map((t) => stack.waitForStatus(t.id, ['succeeded'])));
    const startOrder = submitted
      .map((t, i) => ({ ...t, started: Date.parse(done[i].started_at) }))
      .sort((a, b) => a.started - b.started)
      .map((t) => t.n);
    // priority 100 (n6), then 50 (n2, n4), 0 (n0, n3), -10 (n1, n5).
    expect(startOrder).toEqual([6, 2, 4, 0, 3, 1, 5]);
  });

  it('does not start a delayed task before its delay', async () => {
    await stack.startWorker();
    const res = await stack.submit({ task_type: 'echo', payload: 'later', delay_ms: 1500 });
    expect(res.body.status).toBe('scheduled');
    expect((await stack.task(res.body.task_id)).body.status).toBe('scheduled');
    const done = await stack.waitForStatus(res.body.task_id, ['succeeded']);
    expect(Date.parse(done.started_at) - Date.parse(done.created_at)).toBeGreaterThanOrEqual(1500);
  });

  it('runs a task at run_at', async () => {
    await stack.startWorker();
    const runAt = new Date(Date.now() + 1200).toISOString();
    const id = await stack.submitOk({ task_type: 'echo', payload: 'at', run_at: runAt });
    const done = await stack.waitForStatus(id, ['succeeded']);
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(runAt));
  });
});
