import { http, JsonResponse, scanKeys, waitFor } from '@app/testing';
import { bearer, createKeyFromShell } from './api-keys';
import { Stack } from './harness';

jest.setTimeout(120_000);

interface WorkTask {
  task_id: string;
  task_type: string;
  queue: string;
  payload: unknown;
  attempt: number;
  max_retries: number;
  lease_token: string;
  lease_expires_at: string;
  timeout_ms: number;
}

/** A runtime type on queue `py`, as a Python team would define it; no native worker serves `py`. */
const UPPER = {
  queue: 'py',
  max_retries: 1,
  backoff: { base_ms: 20, max_ms: 50 },
  payload_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};

describe('HTTP workers (the /work protocol) over the built api', () => {
  let stack: Stack;

  afterEach(async () => {
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
  });

  const post = (path: string, body: unknown, init: { headers?: Record<string, string>; timeoutMs?: number } = {}) =>
    http('POST', `${stack.api.url}${path}`, body, init);
  const claim = async (body: Record<string, unknown>, init = {}): Promise<WorkTask[]> => {
    const res = await post('/work/claim', { worker_id: 'py-1', queues: ['py'], ...body }, init);
    expect(res.status).toBe(200);
    return (res.body as { tasks: WorkTask[] }).tasks;
  };
  const claimOne = async (body: Record<string, unknown> = {}): Promise<WorkTask> => {
    const tasks = await claim({ wait_ms: 10_000, ...body });
    expect(tasks).toHaveLength(1);
    return tasks[0];
  };
  const submitUpper = (text: string, extra: Record<string, unknown> = {}) =>
    stack.submitOk({ task_type: 'py.upper', payload: { text }, ...extra });

  async function defineUpper(): Promise<void> {
    const put = await http('PUT', `${stack.api.url}/task-types/py.upper`, UPPER);
    expect(put.status).toBe(201);
  }

  it('claims (long-polling), heartbeats and completes through the same leases as native workers', async () => {
    stack = new Stack({ TASK_LEASE_MS: '5000' });
    await stack.startApi();
    await defineUpper();

    expect(await claim({ wait_ms: 0 })).toEqual([]);
    // A long-poll waiting before the submit answers with the task.
    const waiting = claim({ wait_ms: 20_000, max: 10 }, { timeoutMs: 25_000 });
    const id = await submitUpper('hello');
    const [task] = await waiting;
    expect(task).toMatchObject({
      task_id: id,
      task_type: 'py.upper',
      queue: 'py',
      payload: { text: 'hello' },
      attempt: 1,
      max_retries: 1,
      timeout_ms: 60_000,
    });
    expect(Date.parse(task.lease_expires_at)).toBeGreaterThan(Date.now());
    expect((await stack.task(id)).body).toMatchObject({ status: 'active' });

    const beat = await post(`/work/${id}/heartbeat`, { lease_token: task.lease_token, progress: 50 });
    expect(beat.status).toBe(200);
    expect(beat.body).toEqual({ task_id: id, lease_expires_at: expect.any(String) });
    expect(Date.parse(beat.body.lease_expires_at)).toBeGreaterThanOrEqual(Date.parse(task.lease_expires_at));

    // Fencing: a token that is not this run's writes nothing.
    const foreign = await post(`/work/${id}/complete`, { lease_token: `${task.lease_token}0`, result: 'forged' });
    expect(foreign.status).toBe(409);
    expect(foreign.body.cancelled).toBeUndefined();
    expect((await stack.task(id)).body).toMatchObject({ status: 'active', result: null });

    const done = await post(`/work/${id}/complete`, { lease_token: task.lease_token, result: { upper: 'HELLO' } });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ task_id: id, status: 'succeeded' });
    const finished = (await stack.task(id)).body;
    expect(finished).toMatchObject({ status: 'succeeded', result: { upper: 'HELLO' }, attempts: 1 });
    expect(finished.attempts_history).toEqual([expect.objectContaining({ attempt: 1, worker: 'py-1' })]);

    // The same token again: the run is over.
    expect((await post(`/work/${id}/complete`, { lease_token: task.lease_token, result: 1 })).status).toBe(409);

    const workers = await http('GET', `${stack.api.url}/workers`);
    expect(workers.body.workers).toContainEqual(
      // Its concurrency is the max of its latest claim.
      expect.objectContaining({ worker_id: 'py-1', kind: 'http', queues: ['py'], concurrency: 10, pid: 0 }),
    );
    const metrics = await (await fetch(stack.api.metricsUrl)).text();
    expect(metrics).toMatch(/http_worker_tasks_total\{queue="py",outcome="claimed"\} 1/);
    expect(metrics).toMatch(/http_worker_tasks_total\{queue="py",outcome="succeeded"\} 1/);
  });

  it('fails: retried after the backoff, then dead at max_retries; retryable false is dead at once', async () => {
    stack = new Stack();
    await stack.startApi();
    await defineUpper();

    const id = await submitUpper('twice');
    const first = await claimOne();
    const failed = await post(`/work/${id}/fail`, {
      lease_token: first.lease_token,
      error: { message: 'ValueError: no', stack: 'Traceback (most recent call last): ...' },
    });
    expect(failed.status).toBe(200);
    expect(failed.body).toEqual({ task_id: id, status: 'retrying', next_run_at: expect.any(String) });
    // The retry is due after the type's backoff (at most 50 ms); a long-poll takes it when it is due.
    const second = await claimOne();
    expect(second).toMatchObject({ task_id: id, attempt: 2 });
    expect(second.lease_token).not.toBe(first.lease_token);
    // The first run's token is stale now.
    expect((await post(`/work/${id}/fail`, { lease_token: first.lease_token, error: { message: 'x' } })).status).toBe(
      409,
    );
    const dead = await post(`/work/${id}/fail`, {
      lease_token: second.lease_token,
      error: { message: 'ValueError: no' },
    });
    expect(dead.body).toEqual({ task_id: id, status: 'dead', dead_reason: 'max_retries' });
    const task = (await stack.task(id)).body;
    expect(task).toMatchObject({ status: 'dead', dead_reason: 'max_retries', last_error: 'ValueError: no' });
    expect(task.attempts_history).toEqual([
      expect.objectContaining({
        attempt: 1,
        worker: 'py-1',
        outcome: 'retried',
        error: expect.stringContaining('Traceback'),
      }),
      expect.objectContaining({ attempt: 2, worker: 'py-1', outcome: 'dead' }),
    ]);
    const dlq = await http('GET', `${stack.api.url}/dlq?queue=py`);
    expect(dlq.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([id]);

    const permanent = await submitUpper('never');
    const run = await claimOne();
    const refused = await post(`/work/${permanent}/fail`, {
      lease_token: run.lease_token,
      error: { message: 'bad input' },
      retryable: false,
    });
    expect(refused.body).toEqual({ task_id: permanent, status: 'dead', dead_reason: 'non_retryable' });
  });

  it('a cancelled task answers its heartbeat and complete with 409 cancelled: true, and stays cancelled', async () => {
    stack = new Stack();
    await stack.startApi();
    await defineUpper();

    const id = await submitUpper('cancel me');
    const run = await claimOne();
    expect((await post(`/tasks/${id}/cancel`, undefined)).status).toBe(200);
    const beat = await post(`/work/${id}/heartbeat`, { lease_token: run.lease_token });
    expect(beat.status).toBe(409);
    expect(beat.body).toMatchObject({
      statusCode: 409,
      cancelled: true,
      message: expect.stringContaining('cancelled'),
    });
    const late = await post(`/work/${id}/complete`, { lease_token: run.lease_token, result: 'too late' });
    expect(late.status).toBe(409);
    expect(late.body.cancelled).toBe(true);
    expect((await stack.task(id)).body).toMatchObject({ status: 'cancelled', result: null });
  });

  it('an HTTP worker that stops heartbeating loses the task: the api recovers it, and the stale token writes nothing', async () => {
    stack = new Stack({ TASK_LEASE_MS: '1000', RECOVERY_INTERVAL_MS: '200' });
    await stack.startApi();
    await defineUpper();

    const id = await submitUpper('orphan');
    const dying = await claimOne({ worker_id: 'py-dies' });
    // No native worker serves `py`: the api puts the task back once the lease is over.
    const again = await claimOne({ worker_id: 'py-2', wait_ms: 20_000 });
    expect(again).toMatchObject({ task_id: id });
    expect(again.lease_token).not.toBe(dying.lease_token);
    const stale = await post(`/work/${id}/complete`, { lease_token: dying.lease_token, result: 'stale' });
    expect(stale.status).toBe(409);
    expect((await post(`/work/${id}/complete`, { lease_token: again.lease_token, result: 'fresh' })).status).toBe(200);
    const task = (await stack.task(id)).body;
    expect(task).toMatchObject({ status: 'succeeded', result: 'fresh', recoveries: 1 });
    expect(task.attempts_history).toEqual([
      expect.objectContaining({ worker: 'py-dies', outcome: 'lease_expired' }),
      expect.objectContaining({ worker: 'py-2' }),
    ]);
    expect(
      stack.api.logs((line) => line.taskId === id && /lease of an HTTP worker expired/.test(String(line.msg))),
    ).toHaveLength(1);
  });

  it('a run past its timeout_ms is ended at its heartbeat, as a native run would time out', async () => {
    stack = new Stack();
    await stack.startApi();
    await defineUpper();

    const id = await submitUpper('slow', { timeout_ms: 1, max_retries: 0 });
    const run = await claimOne();
    const beat = await waitFor(
      async () => {
        const res: JsonResponse = await post(`/work/${id}/heartbeat`, { lease_token: run.lease_token });
        return res.status === 409 ? res : undefined;
      },
      { timeoutMs: 5000, what: 'the heartbeat of a run over its 1 ms timeout to be refused' },
    );
    expect(beat.body.message).toMatch(/timeout_ms/);
    expect((await stack.task(id)).body).toMatchObject({ status: 'dead', dead_reason: 'timeout' });
  });

  it('a worker that names its task types dead-letters another type it claimed, as a native worker does', async () => {
    stack = new Stack();
    await stack.startApi();
    await defineUpper();

    const id = await submitUpper('wrong worker');
    expect(await claim({ task_types: ['py.lower'], wait_ms: 5000 })).toEqual([]);
    expect((await stack.task(id)).body).toMatchObject({ status: 'dead', dead_reason: 'unknown_task_type' });
  });

  it('refuses bad input with the field and rule, unknown tasks with 404, and nothing is written', async () => {
    stack = new Stack();
    await stack.startApi();
    for (const [body, field, rule] of [
      [{ queues: ['py'] }, 'worker_id', 'isPresent'],
      [{ worker_id: ':x', queues: ['py'] }, 'worker_id', 'matches'],
      [{ worker_id: 'w', queues: [] }, 'queues', 'arrayMinSize'],
      [{ worker_id: 'w', queues: ['Py!'] }, 'queues', 'matches'],
      [{ worker_id: 'w', queues: ['py'], max: 0 }, 'max', 'min'],
      [{ worker_id: 'w', queues: ['py'], max: 101 }, 'max', 'max'],
      [{ worker_id: 'w', queues: ['py'], wait_ms: 30_001 }, 'wait_ms', 'max'],
      [{ worker_id: 'w', queues: ['py'], extra: 1 }, 'extra', 'unknownField'],
    ] as const) {
      const res = await post('/work/claim', body);
      expect({ status: res.status, errors: res.body.errors }).toEqual({
        status: 400,
        errors: expect.arrayContaining([expect.objectContaining({ field, rule })]),
      });
    }
    const missingToken = await post('/work/py.0abc/complete', { result: 1 });
    expect(missingToken.body.errors).toEqual([expect.objectContaining({ field: 'lease_token', rule: 'isPresent' })]);
    const noMessage = await post('/work/py.0abc/fail', { lease_token: 't', error: {} });
    expect(noMessage.body.errors).toEqual([expect.objectContaining({ field: 'error.message', rule: 'isPresent' })]);
    for (const [path, body] of [
      ['/work/py.0mxnothere11/heartbeat', { lease_token: 'py-1:1:1' }],
      ['/work/not-a-task-id/fail', { lease_token: 'py-1:1:1', error: { message: 'x' } }],
    ] as const) {
      expect((await post(path, body)).status).toBe(404);
    }
    expect(await stack.keyCount()).toBe(0);
  });

  it('a claim naming queues that do not exist leaves no key for them once the recovery pass has run', async () => {
    stack = new Stack({ RECOVERY_INTERVAL_MS: '200' });
    await stack.startApi();
    await defineUpper();
    await submitUpper('a real queue');
    expect(await claim({ queues: ['py', 'ghost-a', 'ghost-b'], max: 1, wait_ms: 100 })).toHaveLength(1);
    expect(await claim({ queues: ['ghost-a', 'ghost-b'], wait_ms: 300 })).toEqual([]);
    // The api records the queues HTTP workers claim from; the pass keeps the real one and drops the others.
    const remote = `${stack.prefix}:remote-queues`;
    await waitFor(async () => ((await stack.redis.hkeys(remote)).join() === 'py' ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the recovery pass to drop the queues that do not exist',
    });
    const ghosts = (await scanKeys(stack.redis, `${stack.prefix}:*`)).filter((key) => key.includes('ghost'));
    expect(ghosts).toEqual([]);
  });

  it('needs scope work, and a queue-restricted key claims only from its queues', async () => {
    stack = new Stack({ AUTH_MODE: 'api-key' });
    await stack.startApi();
    const reader = createKeyFromShell(stack, ['--name', 'reader', '--scopes', 'read']);
    const worker = createKeyFromShell(stack, ['--name', 'py-worker', '--scopes', 'work', '--queues', 'py']);

    const noScope = await post('/work/claim', { worker_id: 'w', queues: ['py'] }, bearer(reader));
    expect(noScope.status).toBe(403);
    expect(noScope.body.missing_scope).toBe('work');
    const otherQueue = await post('/work/claim', { worker_id: 'w', queues: ['py', 'emails'] }, bearer(worker));
    expect(otherQueue.status).toBe(403);
    expect(otherQueue.body.queue).toBe('emails');
    const allowed = await post('/work/claim', { worker_id: 'w', queues: ['py'] }, bearer(worker));
    expect(allowed).toMatchObject({ status: 200, body: { tasks: [] } });
    const foreignTask = await post('/work/emails.0mxcgoc0211/heartbeat', { lease_token: 'w:1:1' }, bearer(worker));
    expect(foreignTask.status).toBe(403);
  });
});
