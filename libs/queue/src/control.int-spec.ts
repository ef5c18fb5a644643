import {
  checkQueueInvariant,
  createTestRedis,
  deleteByPrefix,
  newTask,
  QueueHarness,
  scanKeys,
  TestRedis,
  waitFor,
} from '@app/testing';
import {
  DeadReason,
  NewTask,
  QueueErrorCode,
  QueueEvents,
  queueChannels,
  QueueInspector,
  queueKeys,
  TaskWaiter,
} from '@app/queue';

/** The control surface on a real Redis: cancel, pause, limits, idempotent and unique submits, waiting. */
describe('libs/queue control', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  const queue = 'q1';
  const task = (over: Partial<NewTask> = {}) => newTask(queue, over);

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    h = await QueueHarness.boot();
  });
  afterEach(async () => {
    expect(await checkQueueInvariant(redis, h.prefix, queue)).toEqual([]);
    await h.close(redis);
  });

  it('cancels a scheduled, queued or retrying task: it never runs', async () => {
    const [queued, scheduled] = await h.producer.enqueueMany([task(), task({ delayMs: 60_000 })]);
    const retrying = await h.producer.enqueue(task());
    const [first] = (await h.consumer.claim(queue, 1)).tasks;
    expect(first.id).toBe(queued.id);
    await h.consumer.fail(first, { action: 'retry', delayMs: 60_000, error: 'later' });
    const [second] = (await h.consumer.claim(queue, 1)).tasks;
    expect(second.id).toBe(retrying.id);
    await h.consumer.ack(second, '');

    await h.producer.enqueue(task()); // one more, queued
    const fresh = (await h.inspector.stats(queue)).counts.queued;
    expect(fresh).toBe(1);
    const [third] = await h.producer.enqueueMany([task()]);
    expect(await h.admin.cancel(third.id)).toBe('queued');
    expect(await h.admin.cancel(scheduled.id)).toBe('scheduled');
    expect(await h.admin.cancel(first.id)).toBe('retrying');
    for (const id of [third.id, scheduled.id, first.id]) {
      expect(await h.inspector.getTask(id)).toMatchObject({ status: 'cancelled', cancelledAt: expect.any(Number) });
    }
    // Only the one task left queued is claimable.
    const { tasks } = await h.consumer.claim(queue, 10);
    expect(tasks).toHaveLength(1);
    await h.consumer.ack(tasks[0], '');
    expect((await h.inspector.stats(queue)).counts).toMatchObject({ cancelled: 3, succeeded: 2, queued: 0 });
    await expect(h.admin.cancel(second.id)).rejects.toMatchObject({
      code: QueueErrorCode.WrongState,
      message: expect.stringContaining(`task ${second.id} is succeeded already`),
    });
    await expect(h.admin.cancel(`${queue}.00000000-0000-0000-0000-000000000000`)).rejects.toMatchObject({
      code: QueueErrorCode.NotFound,
    });
  });

  it('cancels an active task: its lease goes at once and its worker is told on the cancel channel', async () => {
    const events = h.moduleRef.get(QueueEvents);
    const messages: string[] = [];
    await events.subscribe(queueChannels(h.prefix).cancel, (message) => messages.push(message));
    const { id } = await h.producer.enqueue(task());
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    expect(await h.admin.cancel(id)).toBe('active');
    await waitFor(() => messages.includes(`${id} ${run.leaseToken}`), { what: 'the cancel message' });
    // A handler that ignores the signal still cannot write an outcome.
    await expect(h.consumer.ack(run, '"late"')).rejects.toMatchObject({ code: QueueErrorCode.LeaseLost });
    expect(await h.consumer.heartbeat(queue, [run])).toEqual([run.leaseToken]);
    expect(await h.inspector.getTask(id)).toMatchObject({ status: 'cancelled', result: null });
  });

  it('pauses a queue: no claims, submits still accepted, claims again after resume', async () => {
    await h.producer.enqueue(task());
    await h.admin.pause(queue);
    expect((await h.consumer.claim(queue, 10)).tasks).toEqual([]);
    await h.producer.enqueue(task());
    expect((await h.inspector.stats(queue)).controls).toMatchObject({ paused: true });
    await h.admin.resume(queue);
    const { tasks } = await h.consumer.claim(queue, 10);
    expect(tasks).toHaveLength(2);
    for (const t of tasks) await h.consumer.ack(t, '');
    expect((await h.inspector.stats(queue)).controls.paused).toBe(false);
  });

  it('caps active tasks per queue across callers (concurrency)', async () => {
    await h.producer.enqueueMany(Array.from({ length: 5 }, () => task()));
    await h.admin.setLimits(queue, { rate: null, concurrency: 2 });
    const a = await h.consumer.claim(queue, 10);
    const b = await h.consumer.claim(queue, 10);
    expect([a.tasks.length, b.tasks.length]).toEqual([2, 0]);
    await h.consumer.ack(a.tasks[0], '');
    expect((await h.consumer.claim(queue, 10)).tasks).toHaveLength(1);
    expect((await h.inspector.stats(queue)).controls).toEqual({ paused: false, rate: null, concurrency: 2 });
    await h.admin.setLimits(queue, { rate: null, concurrency: null });
    const rest = await h.consumer.claim(queue, 10);
    expect(rest.tasks).toHaveLength(2);
    const active = await redis.zrange(queueKeys(h.prefix, queue).active, 0, -1);
    expect(active).toHaveLength(4);
  });

  it('limits starts per window (rate) and says when the next start is allowed', async () => {
    await h.producer.enqueueMany(Array.from({ length: 5 }, () => task()));
    await h.admin.setLimits(queue, { rate: { max: 3, perMs: 400 }, concurrency: null });
    const first = await h.consumer.claim(queue, 10);
    expect(first.tasks).toHaveLength(3);
    const second = await h.consumer.claim(queue, 10);
    expect(second.tasks).toHaveLength(0);
    expect(second.nextDueAt).toBeGreaterThan(second.now);
    expect(second.nextDueAt! - second.now).toBeLessThanOrEqual(400);
    const later = await waitFor(
      async () => {
        const claimed = await h.consumer.claim(queue, 10);
        return claimed.tasks.length ? claimed : undefined;
      },
      { timeoutMs: 5000, what: 'the window to let more starts through' },
    );
    expect(later.now).toBeGreaterThanOrEqual(second.nextDueAt!);
    expect(later.tasks).toHaveLength(2);
    for (const t of [...first.tasks, ...later.tasks]) await h.consumer.ack(t, '');
  });

  it('writes a task once per idempotency key, however many submits race, and refuses the key for another task', async () => {
    const submits = await Promise.all(
      Array.from({ length: 50 }, () => h.producer.enqueue(task({ idempotencyKey: 'order-42', payload: { n: 42 } }))),
    );
    const ids = new Set(submits.map((s) => s.id));
    expect(ids.size).toBe(1);
    expect(submits.filter((s) => !s.replayed)).toHaveLength(1);
    expect((await h.inspector.stats(queue)).counts.queued).toBe(1);
    await expect(h.producer.enqueue(task({ idempotencyKey: 'order-42', payload: { n: 43 } }))).rejects.toMatchObject({
      code: QueueErrorCode.Conflict,
      existingId: [...ids][0],
    });
    // Within one batch, the second use of a key is a replay of the first.
    const batch = await h.producer.enqueueMany([task({ idempotencyKey: 'k2' }), task({ idempotencyKey: 'k2' })]);
    expect(batch[1]).toMatchObject({ id: batch[0].id, replayed: true });
    for (const t of (await h.consumer.claim(queue, 10)).tasks) await h.consumer.ack(t, '');
  });

  it('refuses a unique task while an equal one is unfinished, and lets it through once that one finished', async () => {
    const first = await h.producer.enqueue(task({ uniqueForMs: 60_000, payload: 'same' }));
    await expect(h.producer.enqueue(task({ uniqueForMs: 60_000, payload: 'same' }))).rejects.toMatchObject({
      code: QueueErrorCode.Conflict,
      existingId: first.id,
    });
    expect((await h.producer.enqueue(task({ uniqueForMs: 60_000, payload: 'other' }))).replayed).toBe(false);
    const runs = (await h.consumer.claim(queue, 10)).tasks;
    for (const t of runs) await h.consumer.ack(t, '');
    const again = await h.producer.enqueue(task({ uniqueForMs: 60_000, payload: 'same' }));
    expect(again.id).not.toBe(first.id);
    const [last] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(last, '');
  });

  it('refuses a batch holding equal unique tasks whole, as one by one refuses the second, and takes no lock', async () => {
    const same = () => task({ uniqueForMs: 60_000, payload: 'same' });
    await expect(h.producer.enqueueMany([same(), task({ payload: 'other' }), same(), same()])).rejects.toMatchObject({
      code: QueueErrorCode.Conflict,
      existingId: undefined,
      sameCall: { index: 2, earlier: 0, kind: 'unique' },
    });
    expect((await h.inspector.stats(queue)).counts.queued).toBe(0);
    expect(await scanKeys(redis, `${queueKeys(h.prefix, queue).uniquePrefix}*`)).toEqual([]);
    // One by one: the first is written and holds the lock, the second is refused naming it.
    const first = await h.producer.enqueue(same());
    await expect(h.producer.enqueue(same())).rejects.toMatchObject({ existingId: first.id, sameCall: undefined });
    // A batch whose unique task meets that unfinished one is refused whole too, naming it.
    await expect(h.producer.enqueueMany([task({ payload: 'x' }), same()])).rejects.toMatchObject({
      existingId: first.id,
    });
    expect((await h.inspector.stats(queue)).counts.queued).toBe(1);
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(run, '');
    // Freed when it finished: the next one is written, and the lock names it (not a later copy).
    const next = await h.producer.enqueue(same());
    const locks = await scanKeys(redis, `${queueKeys(h.prefix, queue).uniquePrefix}*`);
    expect(await Promise.all(locks.map((key) => redis.get(key)))).toEqual([next.id]);
    await h.admin.cancel(next.id);
  });

  it('makes tasks equal by a unique key, whatever their type and payload, in its queue only', async () => {
    const keyed = (over: Partial<NewTask> = {}) => task({ uniqueForMs: 60_000, uniqueKey: 'invoice-1234', ...over });
    const first = await h.producer.enqueue(keyed({ payload: 1 }));
    await expect(h.producer.enqueue(keyed({ type: 'other', payload: 2 }))).rejects.toMatchObject({
      code: QueueErrorCode.Conflict,
      existingId: first.id,
      message: expect.stringContaining('the same unique key'),
    });
    // Without the key, type and payload decide again: an equal payload is not held by the keyed task.
    const plain = await h.producer.enqueue(task({ uniqueForMs: 60_000, payload: 1 }));
    // Another queue has keys of its own.
    const elsewhere = await h.producer.enqueue(newTask('q2', { uniqueForMs: 60_000, uniqueKey: 'invoice-1234' }));
    expect(await h.inspector.getTask(first.id)).toMatchObject({ uniqueKey: 'invoice-1234' });
    expect(await h.inspector.getTask(plain.id)).toMatchObject({ uniqueKey: null });
    // Two with one key in a batch: refused whole, like equal unique tasks.
    await expect(
      h.producer.enqueueMany([keyed({ queue: 'q3' }), keyed({ queue: 'q3', payload: 9 })]),
    ).rejects.toMatchObject({ sameCall: { index: 1, earlier: 0, kind: 'unique' } });
    // A unique key without unique_for_ms says nothing about how long: refused before anything is sent.
    await expect(h.producer.enqueue(task({ uniqueKey: 'k' }))).rejects.toMatchObject({
      code: QueueErrorCode.BadArgument,
    });
    for (const id of [first.id, plain.id, elsewhere.id]) await h.admin.cancel(id);
    expect(await checkQueueInvariant(redis, h.prefix, 'q2')).toEqual([]);
  });

  it('refuses a batch that uses one idempotency key for two different tasks, naming both, writing neither', async () => {
    await expect(
      h.producer.enqueueMany([task({ idempotencyKey: 'k', payload: 1 }), task({ idempotencyKey: 'k', payload: 2 })]),
    ).rejects.toMatchObject({ existingId: undefined, sameCall: { index: 1, earlier: 0, kind: 'idempotency' } });
    expect((await h.inspector.stats(queue)).counts.queued).toBe(0);
  });

  it("stores a task's own backoff only when given, and hands it to the worker that claims it", async () => {
    const own = await h.producer.enqueue(task({ backoff: { delaysMs: [1000, 5000] } }));
    const curve = await h.producer.enqueue(
      task({ backoff: { type: 'exponential', baseMs: 500, maxMs: 60_000, jitter: true } }),
    );
    const plain = await h.producer.enqueue(task());
    const taskPrefix = queueKeys(h.prefix, queue).taskPrefix;
    expect(await redis.hget(`${taskPrefix}${own.id}`, 'backoff')).toBe('d:1000,5000');
    expect(await redis.hexists(`${taskPrefix}${plain.id}`, 'backoff')).toBe(0);
    const claimed = new Map((await h.consumer.claim(queue, 10)).tasks.map((t) => [t.id, t]));
    expect(claimed.get(own.id)?.backoff).toEqual({ delaysMs: [1000, 5000] });
    expect(claimed.get(curve.id)?.backoff).toEqual({ type: 'exponential', baseMs: 500, maxMs: 60_000, jitter: true });
    expect(claimed.get(plain.id)?.backoff).toBeUndefined();
    expect(await h.inspector.getTask(own.id)).toMatchObject({ backoff: { delaysMs: [1000, 5000] } });
    expect(await h.inspector.getTask(plain.id)).toMatchObject({ backoff: null });
    for (const t of claimed.values()) await h.consumer.ack(t, '');
  });

  it('answers every waiter of a task when it finishes, on one shared subscription', async () => {
    const waiter = h.moduleRef.get(TaskWaiter);
    const { id } = await h.producer.enqueue(task());
    let answered = 0;
    const waiting = Array.from({ length: 200 }, () => waiter.untilFinished(id, 20_000).then(() => answered++));
    await waitFor(async () => (await redis.hget(`${queueKeys(h.prefix, queue).taskPrefix}${id}`, 'watched')) !== null, {
      what: 'the task to be watched',
    });
    expect(answered).toBe(0);
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(run, '"done"');
    await Promise.all(waiting);
    expect(answered).toBe(200);
    // Finished already: no wait at all. Unknown: NotFound. Unfinished: the deadline ends the wait.
    await waiter.untilFinished(id, 60_000);
    await expect(waiter.untilFinished(`${queue}.00000000-0000-0000-0000-000000000000`, 10)).rejects.toMatchObject({
      code: QueueErrorCode.NotFound,
    });
    const other = await h.producer.enqueue(task());
    await waiter.untilFinished(other.id, 50);
    expect((await h.inspector.getTask(other.id)).status).toBe('queued');
    await h.admin.cancel(other.id);
  });

  it('lists 10,000 tasks page by page without a duplicate or a gap, in run order, while tasks arrive', async () => {
    const ids = (await h.producer.enqueueMany(Array.from({ length: 10_000 }, (_, i) => task({ payload: i })))).map(
      (t) => t.id,
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await h.inspector.listTasks({ queues: [queue], status: 'queued', limit: 500, cursor });
      seen.push(...page.tasks.map((t) => t.id));
      expect(page.tasks.every((t) => t.status === 'queued' && !('payload' in t))).toBe(true);
      cursor = page.nextCursor ?? undefined;
      // Newer tasks join the end of the queue while paging: a position cursor is not thrown off.
      if (pages++ === 3) await h.producer.enqueueMany([task(), task()]);
    } while (cursor);
    expect(seen.slice(0, 10_000)).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(10_002);
    await redis.del(queueKeys(h.prefix, queue).queued, queueKeys(h.prefix, queue).ready);
    await deleteByPrefix(redis, `${h.prefix}:{${queue}}:t`);
    // 10,000 tasks written and read in 21 pages: seconds on a loaded machine or a cluster.
  }, 60_000);

  it('searches a state by id prefix, last error and dead reason, case-insensitive, with the other filters', async () => {
    const tasks = await h.producer.enqueueMany([
      task({ maxRetries: 0 }),
      task({ maxRetries: 0, type: 'email' }),
      task({ maxRetries: 0 }),
      task({ maxRetries: 0 }),
    ]);
    const runs = new Map((await h.consumer.claim(queue, 10)).tasks.map((t) => [t.id, t]));
    const die = (i: number, error: string, reason: DeadReason) =>
      h.consumer.fail(runs.get(tasks[i].id)!, { action: 'dead', reason, error });
    await die(0, 'connect ECONNREFUSED 10.0.0.7:5432', 'max_retries');
    await die(1, 'SMTP said: econnrefused (try later)', 'max_retries');
    await die(2, 'image is gone', 'non_retryable');
    await die(3, 'the run took 100% of its 5_000 ms', 'timeout');
    const search = async (q: string, over: Partial<Parameters<QueueInspector['listTasks']>[0]> = {}) =>
      (await h.inspector.listTasks({ queues: [queue], status: 'dead', limit: 50, search: q, ...over })).tasks
        .map((t) => tasks.findIndex((x) => x.id === t.id))
        .sort();
    expect(await search('ECONNrefused')).toEqual([0, 1]);
    expect(await search('econnrefused', { taskType: 'email' })).toEqual([1]);
    expect(await search('non_retry')).toEqual([2]);
    expect(await search('100% of')).toEqual([3]);
    expect(await search('5_000')).toEqual([3]);
    expect(await search('5x000')).toEqual([]);
    // Ids made in one call differ in their last digits only (time, then sequence number).
    const idPrefix = tasks[2].id.slice(0, -1);
    const sharing = tasks.flatMap((t, i) => (t.id.startsWith(idPrefix) ? [i] : []));
    expect(sharing).toContain(2);
    expect(await search(idPrefix)).toEqual(sharing);
    // A whole id (any case) is one lookup: that task, in the state listed, else none.
    expect(await search(tasks[3].id.toUpperCase())).toEqual([3]);
    expect(await search(tasks[3].id, { status: 'queued' })).toEqual([]);
    expect(await search(tasks[3].id, { queues: ['q2'] })).toEqual([]);
    // Other states are searched alike (ids here: nothing else to match in a queued task).
    const waiting = await h.producer.enqueue(task());
    const queued = await h.inspector.listTasks({
      queues: [queue],
      status: 'queued',
      limit: 50,
      search: waiting.id.slice(0, -1),
    });
    expect(queued.tasks.map((t) => t.id)).toEqual([waiting.id]);
    await h.admin.cancel(waiting.id);
  });

  it('bounds a search to 5000 examined tasks per page: a page may be short, with a cursor to go on from', async () => {
    const ids = (await h.producer.enqueueMany(Array.from({ length: 7000 }, (_, i) => task({ payload: i })))).map(
      (t) => t.id,
    );
    // All but the last digit: the ids of one call differ in their sequence number only, so this prefix
    // matches at most 36 tasks around the 6,500th, none among the first 5,000.
    const needle = ids[6500].slice(0, -1);
    const wanted = ids.filter((id) => id.startsWith(needle));
    expect(ids.indexOf(wanted[0])).toBeGreaterThan(5000);
    const first = await h.inspector.listTasks({
      queues: [queue],
      status: 'queued',
      limit: 50,
      search: needle,
    });
    expect(first.tasks).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    const second = await h.inspector.listTasks({
      queues: [queue],
      status: 'queued',
      limit: 50,
      search: needle,
      cursor: first.nextCursor!,
    });
    expect(second.tasks.map((t) => t.id)).toEqual(wanted);
    expect(second.nextCursor).toBeNull();
    await redis.del(queueKeys(h.prefix, queue).queued, queueKeys(h.prefix, queue).ready);
    await deleteByPrefix(redis, `${h.prefix}:{${queue}}:t`);
  });

  it('lists finished tasks newest first, across queues, filtered by type', async () => {
    const a = await h.producer.enqueueMany([task({ type: 'echo' }), task({ type: 'email' }), task({ type: 'echo' })]);
    const b = await h.producer.enqueue(newTask('q2', { type: 'echo' }));
    for (const q of [queue, 'q2']) {
      for (const run of (await h.consumer.claim(q, 10)).tasks) await h.consumer.ack(run, '');
    }
    const page = await h.inspector.listTasks({
      queues: [queue, 'q2'],
      status: 'succeeded',
      taskType: 'echo',
      limit: 2,
    });
    expect(page.tasks).toHaveLength(2);
    const rest = await h.inspector.listTasks({
      queues: [queue, 'q2'],
      status: 'succeeded',
      taskType: 'echo',
      limit: 2,
      cursor: page.nextCursor!,
    });
    const listed = [...page.tasks, ...rest.tasks].map((t) => t.id);
    expect(listed.sort()).toEqual([a[0].id, a[2].id, b.id].sort());
    expect(rest.nextCursor).toBeNull();
    const finishedAt = [...page.tasks, ...rest.tasks].map((t) => t.finishedAt!);
    expect([...finishedAt].sort((x, y) => y - x)).toEqual(finishedAt);
    expect(await checkQueueInvariant(redis, h.prefix, 'q2')).toEqual([]);
  });
});
