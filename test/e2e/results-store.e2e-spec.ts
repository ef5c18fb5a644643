import { http, TcpProxy, TEST_POSTGRES_URL, TestDatabase, waitFor } from '@app/testing';
import { queueKeys } from '@app/queue';
import { Stack } from './harness';

jest.setTimeout(90_000);

/**
 * RESULTS_BACKEND=postgres end to end: the built api and worker, a real Redis, and a database of this
 * file's own on the test PostgreSQL, reached through a TCP proxy the tests cut to make it unreachable.
 */
describe('the PostgreSQL result store over HTTP', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let stack: Stack;

  beforeAll(async () => {
    db = await TestDatabase.create('e2e_results');
    const server = new URL(TEST_POSTGRES_URL);
    proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port || 5432) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    stack = new Stack({
      RESULTS_BACKEND: 'postgres',
      DATABASE_URL: viaProxy.toString(),
      RESULTS_FLUSH_INTERVAL_MS: '50',
    });
    await stack.startApi();
    await stack.startWorker({ WORKER_CONCURRENCY: '8', WORKER_QUEUES: 'default,counted' });
  });
  afterAll(async () => {
    await stack.stop();
    await proxy.stop();
    await db.drop();
  });
  afterEach(async () => {
    expect(await stack.invariantAll()).toEqual([]);
  });

  const hashKey = (id: string) => `${queueKeys(stack.prefix, id.split('.')[0]).taskPrefix}${id}`;
  const inRedis = async (id: string) => (await stack.redis.exists(hashKey(id))) === 1;
  const row = async (id: string) => (await db.sql.query('SELECT * FROM task_results WHERE id = $1', [id])).rows[0];
  const list = (query: string) => http('GET', `${stack.api.url}/tasks${query}`);

  /** Waits until the task's row is written and, unless it is dead (it stays in the DLQ), its hash is gone. */
  async function archived(id: string, status: string) {
    await waitFor(async () => (await row(id))?.status === status && (status === 'dead' || !(await inRedis(id))), {
      timeoutMs: 20_000,
      what: `${id} to be archived as ${status}`,
    });
  }

  it('serves a finished task from PostgreSQL once it has left Redis, with its attempt history', async () => {
    const ok = await stack.submitOk({ task_type: 'echo', payload: { hello: 'pg' } });
    const flaky = await stack.submitOk({ task_type: 'fail', payload: { fail_times: 1 }, max_retries: 2 });
    await archived(ok, 'succeeded');
    await archived(flaky, 'succeeded');
    const res = await stack.task(ok);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      task_id: ok,
      status: 'succeeded',
      payload: { hello: 'pg' },
      result: { hello: 'pg' },
      attempts: 1,
      attempts_history: [{ attempt: 1, outcome: 'succeeded', error: null, worker: expect.stringMatching(/:\d+:/) }],
    });
    const history = (await stack.task(flaky)).body.attempts_history;
    expect(history.map((a: { outcome: string }) => a.outcome)).toEqual(['retried', 'succeeded']);
    expect(history[0].error).toMatch(/^Error: planned failure 1 of 1\n\s+at /);
    expect(Date.parse(history[0].finished_at)).toBeLessThanOrEqual(Date.parse(history[1].started_at));
  });

  it('writes a dead task at its death and keeps it requeueable; a requeue takes its row out until it ends again', async () => {
    const id = await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0 });
    await archived(id, 'dead');
    expect(await inRedis(id)).toBe(true);
    const requeued = await http('POST', `${stack.api.url}/dlq/${id}/requeue`);
    expect(requeued.status).toBe(200);
    // It dies again: one row, the newer revision, both runs in its history.
    await waitFor(async () => (await row(id))?.attempts_history?.length === 2, {
      timeoutMs: 20_000,
      what: 'the second death to be written',
    });
    expect((await row(id)).status).toBe('dead');
    const page = await list('?status=dead&limit=500');
    expect(page.body.tasks.filter((t: { task_id: string }) => t.task_id === id)).toHaveLength(1);
    expect(await http('DELETE', `${stack.api.url}/dlq/${id}`)).toMatchObject({ status: 204 });
    // Out of the DLQ and Redis; its history stays.
    expect(await inRedis(id)).toBe(false);
    expect((await stack.task(id)).body).toMatchObject({ status: 'dead', dead_reason: 'max_retries' });
  });

  it('lists the history with filters and a cursor: every task once, newest finish first', async () => {
    const since = new Date().toISOString();
    const ids = await stack.submitBatch(
      Array.from({ length: 30 }, (_, i) => ({ task_type: i % 3 ? 'echo' : 'email', payload: i % 3 ? i : 'a@b.co' })),
    );
    for (const id of ids) await archived(id, 'succeeded');
    const seen: string[] = [];
    let cursor = '';
    for (let pages = 0; ; pages++) {
      const res = await list(`?since=${since}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.tasks.length).toBeLessThanOrEqual(7);
      seen.push(...res.body.tasks.map((t: { task_id: string }) => t.task_id));
      if (!res.body.next_cursor) break;
      cursor = res.body.next_cursor;
      expect(pages).toBeLessThan(10);
    }
    expect([...seen].sort()).toEqual([...ids].sort());
    const finished = await Promise.all(seen.map(async (id) => Date.parse((await stack.task(id)).body.finished_at)));
    expect(finished).toEqual([...finished].sort((a, b) => b - a));
    const emails = await list(`?task_type=email&queue=default&status=succeeded&since=${since}&limit=100`);
    expect(emails.body.tasks).toHaveLength(10);
    const before = await list(`?since=2000-01-01T00:00:00Z&until=${since}&task_type=email&limit=500`);
    expect(before.body.tasks.map((t: { task_id: string }) => t.task_id)).not.toEqual(expect.arrayContaining([ids[0]]));
  });

  const post = (path: string) => http('POST', `${stack.api.url}${path}`);
  const del = (path: string) => http('DELETE', `${stack.api.url}${path}`);

  it('answers 409 naming its state for a finished task only PostgreSQL holds, as for one in Redis', async () => {
    const ok = await stack.submitOk({ task_type: 'echo', payload: 'done' });
    const waiting = await stack.submitOk({ task_type: 'echo', payload: 'later', delay_ms: 600_000 });
    expect(await post(`/tasks/${waiting}/cancel`)).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    const dead = await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0 });
    await archived(ok, 'succeeded');
    await archived(waiting, 'cancelled');
    await archived(dead, 'dead');
    expect(await del(`/dlq/${dead}`)).toMatchObject({ status: 204 });
    for (const id of [ok, waiting, dead]) expect(await inRedis(id)).toBe(false);

    const conflict = (message: string) => ({ status: 409, body: { statusCode: 409, message } });
    expect(await post(`/tasks/${ok}/cancel`)).toMatchObject(
      conflict(`task ${ok} is succeeded already; only a scheduled, queued, retrying or active task can be cancelled`),
    );
    expect(await post(`/tasks/${waiting}/cancel`)).toMatchObject(
      conflict(
        `task ${waiting} is cancelled already; only a scheduled, queued, retrying or active task can be cancelled`,
      ),
    );
    expect(await post(`/tasks/${dead}/cancel`)).toMatchObject(
      conflict(`task ${dead} is dead already; only a scheduled, queued, retrying or active task can be cancelled`),
    );
    for (const [id, status] of [
      [ok, 'succeeded'],
      [waiting, 'cancelled'],
    ]) {
      expect(await post(`/dlq/${id}/requeue`)).toMatchObject(conflict(`task ${id} is ${status}, not dead`));
      expect(await del(`/dlq/${id}`)).toMatchObject(conflict(`task ${id} is ${status}, not dead`));
    }
    const deleted = `task ${dead} is dead but was deleted from the dead-letter queue; its record stays in the history (POST /tasks/{id}/retry runs it again)`;
    expect(await post(`/dlq/${dead}/requeue`)).toMatchObject(conflict(deleted));
    expect(await del(`/dlq/${dead}`)).toMatchObject(conflict(deleted));
    // Unknown to both: 404 as ever.
    const unknown = 'default.00000000-0000-0000-0000-000000000000';
    for (const res of [
      await post(`/tasks/${unknown}/cancel`),
      await post(`/dlq/${unknown}/requeue`),
      await del(`/dlq/${unknown}`),
    ]) {
      expect(res.status).toBe(404);
    }

    // PostgreSQL away: what only it could answer is a 503 with Retry-After, nothing changed.
    await proxy.cut();
    try {
      for (const res of [
        await post(`/tasks/${ok}/cancel`),
        await post(`/dlq/${dead}/requeue`),
        await del(`/dlq/${dead}`),
        await post(`/tasks/${ok}/retry`),
      ]) {
        expect([res.status, res.headers.get('retry-after')]).toEqual([503, '1']);
        expect(res.body.message).toMatch(/PostgreSQL/);
      }
    } finally {
      await proxy.restore();
    }
    expect((await row(ok)).status).toBe('succeeded');
  });

  it("shows a schedule's last task status from PostgreSQL once that task has left Redis", async () => {
    const name = 'pg-last-task';
    expect(
      (
        await http('PUT', `${stack.api.url}/schedules/${name}`, {
          every_ms: 1000,
          task: { task_type: 'echo', payload: 'tick' },
        })
      ).status,
    ).toBe(201);
    const fired = await waitFor(
      async () => (await http('GET', `${stack.api.url}/schedules/${name}`)).body.last_task_id as string | undefined,
      { timeoutMs: 20_000, what: 'the schedule to fire' },
    );
    expect((await http('PATCH', `${stack.api.url}/schedules/${name}`, { enabled: false })).status).toBe(200);
    const last = (await http('GET', `${stack.api.url}/schedules/${name}`)).body.last_task_id as string;
    expect(last).toBeTruthy();
    expect(fired).toBeTruthy();
    await archived(last, 'succeeded');
    expect((await http('GET', `${stack.api.url}/schedules/${name}`)).body).toMatchObject({
      last_task_id: last,
      last_task_status: 'succeeded',
    });
    const listed = (await http('GET', `${stack.api.url}/schedules`)).body.schedules.find(
      (one: { name: string }) => one.name === name,
    );
    expect(listed).toMatchObject({ last_task_id: last, last_task_status: 'succeeded' });
    // PostgreSQL away: the schedule is still shown; the status it alone knows is null meanwhile.
    await proxy.cut();
    try {
      expect(await http('GET', `${stack.api.url}/schedules/${name}`)).toMatchObject({
        status: 200,
        body: { last_task_id: last, last_task_status: null },
      });
    } finally {
      await proxy.restore();
    }
    expect((await http('DELETE', `${stack.api.url}/schedules/${name}`)).status).toBe(204);
  });

  it('counts the succeeded and cancelled tasks of a queue from the history in GET /queues, and its outcomes per minute', async () => {
    const queueCounts = async () => (await http('GET', `${stack.api.url}/queues/counted`)).body.counts;
    const done = await stack.submitBatch(
      Array.from({ length: 5 }, (_, i) => ({ task_type: 'echo', payload: i, queue: 'counted' })),
    );
    const later = await stack.submitBatch(
      Array.from({ length: 2 }, (_, i) => ({ task_type: 'echo', payload: i, queue: 'counted', delay_ms: 600_000 })),
    );
    for (const id of later) expect((await post(`/tasks/${id}/cancel`)).status).toBe(200);
    for (const id of done) await archived(id, 'succeeded');
    for (const id of later) await archived(id, 'cancelled');
    expect(await queueCounts()).toMatchObject({ succeeded: 5, cancelled: 2, dead: 0, queued: 0 });
    const listed = (await http('GET', `${stack.api.url}/queues`)).body.queues.find(
      (q: { queue: string }) => q.queue === 'counted',
    );
    expect(listed.counts).toMatchObject({ succeeded: 5, cancelled: 2 });
    // A retry takes a task out of the finished counts until it has finished again: never counted twice.
    expect((await post(`/tasks/${done[0]}/retry`)).status).toBe(200);
    await waitFor(async () => (await row(done[0]))?.attempts_history?.length === 2, {
      timeoutMs: 20_000,
      what: 'the retried task to be written again',
    });
    expect(await queueCounts()).toMatchObject({ succeeded: 5, cancelled: 2 });
    // The per-minute outcomes come from Redis with either backend.
    const minutes = (await http('GET', `${stack.api.url}/queues/counted/history?minutes=5`)).body.minutes;
    const sum = (kind: string) => minutes.reduce((n: number, m: Record<string, number>) => n + m[kind], 0);
    expect([sum('succeeded'), sum('cancelled')]).toEqual([6, 2]);
    // PostgreSQL away: the queues are still shown; the counts only it keeps are null meanwhile.
    await proxy.cut();
    try {
      const res = await http('GET', `${stack.api.url}/queues`);
      expect(res.status).toBe(200);
      expect(res.body.queues.find((q: { queue: string }) => q.queue === 'counted').counts).toMatchObject({
        succeeded: null,
        cancelled: null,
        dead: 0,
      });
    } finally {
      await proxy.restore();
    }
  });

  it('retries a finished task that has left Redis under its id, from its row: run again, its history kept', async () => {
    const id = await stack.submitOk({ task_type: 'echo', payload: { again: true } });
    await archived(id, 'succeeded');
    const listedBefore = await list('?status=succeeded&limit=500');
    expect(listedBefore.body.tasks.map((t: { task_id: string }) => t.task_id)).toContain(id);

    const retried = await post(`/tasks/${id}/retry`);
    // Queued again (or already running or done again: echo is quick).
    expect(retried).toMatchObject({ status: 200, body: { task_id: id, payload: { again: true } } });
    // The history no longer shows the finished state it left (or shows the new run, once written).
    const rowNow = await row(id);
    expect(rowNow === undefined || rowNow.attempts_history.length === 2).toBe(true);
    await waitFor(async () => (await row(id))?.attempts_history?.length === 2, {
      timeoutMs: 20_000,
      what: 'the second run to be written',
    });
    await archived(id, 'succeeded');
    expect((await stack.task(id)).body).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      attempts_history: [
        { attempt: 1, outcome: 'succeeded' },
        { attempt: 1, outcome: 'succeeded' },
      ],
    });
    // Unfinished: 409 naming the state; unknown: 404.
    const waiting = await stack.submitOk({ task_type: 'echo', payload: 'x', delay_ms: 600_000 });
    expect(await post(`/tasks/${waiting}/retry`)).toMatchObject({
      status: 409,
      body: { message: `task ${waiting} is scheduled; only a succeeded, dead or cancelled task can be retried` },
    });
    expect((await post(`/tasks/${waiting}/cancel`)).status).toBe(200);
    expect((await post('/tasks/default.00000000-0000-0000-0000-000000000000/retry')).status).toBe(404);
  });

  it('queues a task that has left Redis once for two retries at once: the other answers 409 naming its state', async () => {
    // A queue no worker serves, so the retried task stays queued while the two retries race.
    const id = await stack.submitOk({ task_type: 'echo', payload: 'parked', queue: 'parked', delay_ms: 600_000 });
    expect((await post(`/tasks/${id}/cancel`)).status).toBe(200);
    await archived(id, 'cancelled');
    const answers = await Promise.all([post(`/tasks/${id}/retry`), post(`/tasks/${id}/retry`)]);
    expect(answers.map((res) => res.status).sort()).toEqual([200, 409]);
    expect(answers.find((res) => res.status === 409)!.body.message).toBe(
      `task ${id} is queued; only a succeeded, dead or cancelled task can be retried`,
    );
    expect(await row(id)).toBeUndefined();
    const queued = await list('?status=queued&queue=parked');
    expect(queued.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([id]);
    expect((await post(`/tasks/${id}/cancel`)).status).toBe(200);
  });

  it('purges waiting tasks: gone from Redis, never written to the history, counted', async () => {
    const before = (await http('GET', `${stack.api.url}/queues/default`)).body.purged;
    const ids = await stack.submitBatch(
      Array.from({ length: 3 }, (_, i) => ({ task_type: 'echo', payload: i, delay_ms: 600_000 })),
    );
    expect(await del('/queues/default/tasks?status=scheduled')).toMatchObject({ status: 200, body: { deleted: 3 } });
    for (const id of ids) {
      expect((await stack.task(id)).status).toBe(404);
      expect(await row(id)).toBeUndefined();
    }
    expect((await http('GET', `${stack.api.url}/queues/default`)).body.purged).toBe(before + 3);
  });

  it('searches the history by q (id prefix, last error, dead reason) and waiting states in Redis', async () => {
    const since = new Date().toISOString();
    const dead = await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0 });
    const ok = await stack.submitOk({ task_type: 'echo', payload: 'fine' });
    const keyed = await stack.submitOk({
      task_type: 'echo',
      payload: 'keyed',
      unique_key: 'invoice-77',
      unique_for_ms: 60_000,
      backoff: { delays_ms: [1000, 60_000] },
    });
    await archived(dead, 'dead');
    await archived(ok, 'succeeded');
    await archived(keyed, 'succeeded');
    const ids = async (query: string) => {
      const res = await list(`?since=${since}&${query}`);
      expect([query, res.status]).toEqual([query, 200]);
      return res.body.tasks.map((t: { task_id: string }) => t.task_id);
    };
    expect(await ids('q=Planned%20FAILURE')).toEqual([dead]);
    expect(await ids('q=max_retr&queue=default&status=dead')).toEqual([dead]);
    // An id prefix: all but the last digit, which the ids of tasks made in the same ms may share.
    const okPrefix = ok.slice(0, -1);
    expect((await ids(`q=${okPrefix}&task_type=echo`)).sort()).toEqual(
      [ok, keyed].filter((id) => id.startsWith(okPrefix)).sort(),
    );
    expect(await ids(`q=${ok.toUpperCase()}`)).toEqual([ok]);
    expect(await ids('q=100%25%20sure')).toEqual([]);
    // The submit options come back from the history too.
    expect((await stack.task(keyed)).body).toMatchObject({
      unique_key: 'invoice-77',
      backoff: { delays_ms: [1000, 60_000] },
    });
    // Waiting states are searched in Redis.
    const later = await stack.submitOk({ task_type: 'echo', payload: 'later', delay_ms: 600_000 });
    expect((await list(`?status=scheduled&q=${later.slice(0, 20)}`)).body.tasks).toEqual([
      expect.objectContaining({ task_id: later }),
    ]);
    await http('POST', `${stack.api.url}/tasks/${later}/cancel`);
  });

  it('answers 404 for what is no task id, without asking PostgreSQL (a NUL, a path, a name not of a task)', async () => {
    for (const id of ['%00', 'x', '..%2F..', 'default.', `default.${'a'.repeat(36)}`]) {
      expect([id, (await http('GET', `${stack.api.url}/tasks/${id}`)).status]).toEqual([id, 404]);
    }
  });

  it('names the field and rule of every bad query', async () => {
    const cases: [string, string, string][] = [
      ['?limit=0', 'limit', 'min'],
      ['?limit=1001', 'limit', 'max'],
      ['?status=bogus', 'status', 'isIn'],
      // Waiting states come from Redis, which has no finish time to bound.
      ['?status=queued&since=2030-01-01T00:00:00Z', 'since', 'needsHistory'],
      ['?since=yesterday', 'since', 'isRfc3339'],
      ['?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z', 'until', 'isAfter'],
      ['?cursor=page-2', 'cursor', 'matches'],
      ['?cursor=999999999999999:default.00000000-0000-0000-0000-000000000000', 'cursor', 'matches'],
      ['?queue=Not%20A%20Queue', 'queue', 'matches'],
      ['?colour=red', 'colour', 'unknownField'],
    ];
    for (const [query, field, rule] of cases) {
      const res = await list(query);
      expect([query, res.status, res.body.errors]).toEqual([
        query,
        400,
        expect.arrayContaining([expect.objectContaining({ field, rule })]),
      ]);
    }
  });

  it('answers 503 for what only PostgreSQL holds while it is unreachable, and keeps running tasks', async () => {
    const before = await stack.submitOk({ task_type: 'echo', payload: 'archived' });
    await archived(before, 'succeeded');
    await proxy.cut();
    try {
      const gone = await stack.task(before);
      expect(gone.status).toBe(503);
      expect(gone.headers.get('retry-after')).toBe('1');
      expect(gone.body.message).toMatch(/PostgreSQL/);
      expect((await list('?limit=1')).status).toBe(503);
      // Tasks still run and finish; they wait in Redis, readable there.
      const during = await stack.submitOk({ task_type: 'echo', payload: 'waiting' });
      expect(await stack.waitForStatus(during, ['succeeded'])).toMatchObject({ result: 'waiting' });
      expect(await inRedis(during)).toBe(true);
      expect((await stack.task('default.00000000-0000-0000-0000-000000000000')).status).toBe(503);
      // Not a task id: it cannot be in PostgreSQL either, so no need to ask it.
      expect((await stack.task('whatever')).status).toBe(404);
    } finally {
      await proxy.restore();
    }
    expect((await stack.task(before)).status).toBe(200);
  });
});
