import { checkQueueInvariant, createTestRedis, newTask, QueueHarness, TestRedis, waitFor } from '@app/testing';
import { ClaimedTask, NewTask, QueueErrorCode, queueKeys, TaskWaiter } from '@app/queue';

// A hang guard for a loaded machine (thousands of tasks per test), not a speed bound.
jest.setTimeout(30_000);

/**
 * The operator's retry of a finished task, the purge of waiting tasks, and the uniqueness lock a task
 * takes again when it runs again (requeue, retry), on a real Redis with RESULTS_BACKEND=redis; the
 * one-home invariant is checked after every test.
 */
describe('libs/queue retry and purge', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  const queue = 'q1';
  const task = (over: Partial<NewTask> = {}) => newTask(queue, over);
  const hashKey = (id: string) => `${queueKeys(h.prefix, queue).taskPrefix}${id}`;

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

  async function claim(id: string): Promise<ClaimedTask> {
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    expect(run?.id).toBe(id);
    return run;
  }

  async function die(id: string): Promise<void> {
    await h.consumer.fail(await claim(id), { action: 'dead', reason: 'non_retryable', error: 'Error: no' });
  }

  it('retries a succeeded, dead or cancelled task under its id: queued, attempts reset, its history kept', async () => {
    const done = await h.producer.enqueue(task({ payload: 'done' }));
    await h.consumer.ack(await claim(done.id), '"first"');
    const dead = await h.producer.enqueue(task({ payload: 'dead' }));
    await die(dead.id);
    const cancelled = await h.producer.enqueue(task({ payload: 'cancelled' }));
    await h.admin.cancel(cancelled.id);
    expect((await h.inspector.stats(queue)).counts).toMatchObject({ succeeded: 1, dead: 1, cancelled: 1 });

    for (const { id } of [done, dead, cancelled]) await h.admin.retry(id);
    expect((await h.inspector.stats(queue)).counts).toMatchObject({ queued: 3, succeeded: 0, dead: 0, cancelled: 0 });
    for (const { id } of [done, dead, cancelled]) {
      expect(await h.inspector.getTask(id)).toMatchObject({
        status: 'queued',
        attempts: 0,
        recoveries: 0,
        result: null,
        deadReason: null,
        finishedAt: null,
        startedAt: null,
        cancelledAt: null,
      });
      // The retained hash no longer expires: it is a live task again.
      expect(await redis.ttl(hashKey(id))).toBe(-1);
    }
    expect((await h.inspector.getTask(dead.id)).lastError).toBe('Error: no');

    // They run again; the history keeps the earlier runs, the succeeded one included. The cancelled task
    // never left its place in line (its entry in the ready list was still waiting): it goes first.
    for (const { id } of [cancelled, done, dead]) await h.consumer.ack(await claim(id), '"again"');
    expect((await h.inspector.getTask(done.id)).attemptsHistory).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'succeeded', worker: h.consumer.workerId }),
      expect.objectContaining({ attempt: 1, outcome: 'succeeded' }),
    ]);
    expect((await h.inspector.getTask(done.id)).result).toBe('again');
    expect((await h.inspector.getTask(dead.id)).attemptsHistory.map((a) => a.outcome)).toEqual(['dead', 'succeeded']);
  });

  it('refuses to retry an unfinished task (WrongState naming it) and an unknown one (NotFound)', async () => {
    const waiting = await h.producer.enqueue(task());
    await expect(h.admin.retry(waiting.id)).rejects.toMatchObject({
      code: QueueErrorCode.WrongState,
      message: `task ${waiting.id} is queued; only a succeeded, dead or cancelled task can be retried`,
    });
    const run = await claim(waiting.id);
    await expect(h.admin.retry(waiting.id)).rejects.toMatchObject({ code: QueueErrorCode.WrongState });
    await h.consumer.ack(run, '');
    await expect(h.admin.retry(`${queue}.00000000-0000-0000-0000-000000000000`)).rejects.toMatchObject({
      code: QueueErrorCode.NotFound,
    });
    await expect(h.admin.retry('not-a-task-id')).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
  });

  it('gives a requeued or retried unique task its lock again, or refuses naming the unfinished task holding it', async () => {
    const unique = { uniqueForMs: 60_000, payload: 'once' };
    const first = await h.producer.enqueue(task(unique));
    await die(first.id);
    // Dead frees the lock; the requeue takes it again, so an equal submit is refused.
    await h.dlq.requeue(first.id);
    await expect(h.producer.enqueue(task(unique))).rejects.toMatchObject({
      code: QueueErrorCode.Conflict,
      existingId: first.id,
    });
    await die(first.id);
    const second = await h.producer.enqueue(task(unique));
    // Another unfinished task holds the lock now: nothing changes, and the answer names it.
    for (const run of [() => h.dlq.requeue(first.id), () => h.admin.retry(first.id)]) {
      await expect(run()).rejects.toMatchObject({ code: QueueErrorCode.Conflict, existingId: second.id });
    }
    expect(await h.inspector.getTask(first.id)).toMatchObject({ status: 'dead' });
    expect((await h.inspector.stats(queue)).counts).toMatchObject({ dead: 1, queued: 1 });

    await h.consumer.ack(await claim(second.id), '');
    // Both finished: the retry of the succeeded one holds the lock, for its window from now.
    await h.admin.retry(second.id);
    const lock = (await redis.hget(hashKey(second.id), 'unique_key'))!;
    expect(await redis.get(lock)).toBe(second.id);
    expect(await redis.pttl(lock)).toBeGreaterThan(0);
    await expect(h.dlq.requeue(first.id)).rejects.toMatchObject({ existingId: second.id });
    await h.consumer.ack(await claim(second.id), '');
    await h.dlq.requeue(first.id);
    await h.consumer.ack(await claim(first.id), '');
  });

  it('purges the waiting tasks of one state in batches, never an active one, and counts them', async () => {
    const queued = await h.producer.enqueueMany(Array.from({ length: 2500 }, (_, i) => task({ payload: i })));
    const [running] = (await h.consumer.claim(queue, 1)).tasks;
    const retrying = await h.producer.enqueue(task({ priority: 100 }));
    await h.consumer.fail(await claim(retrying.id), { action: 'retry', delayMs: 60_000, error: 'later' });
    const scheduled = await h.producer.enqueueMany([task({ delayMs: 60_000 }), task({ delayMs: 60_000 })]);

    expect(await h.admin.purge(queue, 'queued')).toBe(2499);
    expect((await h.inspector.stats(queue)).counts).toMatchObject({ queued: 0, active: 1, retrying: 1, scheduled: 2 });
    expect(await h.admin.purge(queue, 'scheduled')).toBe(2);
    expect(await h.admin.purge(queue, 'retrying')).toBe(1);
    expect(await h.admin.purge(queue, 'queued')).toBe(0);
    const stats = await h.inspector.stats(queue);
    expect(stats.counts).toMatchObject({ queued: 0, active: 1, retrying: 0, scheduled: 0, cancelled: 0 });
    expect(stats.purged).toBe(2502);
    // Gone, as if never submitted: no record, no outcome.
    for (const id of [queued[1].id, retrying.id, scheduled[0].id]) {
      await expect(h.inspector.getTask(id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
    }
    expect(running.id).toBe(queued[0].id);
    await h.consumer.ack(running, '');
    expect((await h.inspector.getTask(running.id)).status).toBe('succeeded');
  });

  it('frees the uniqueness locks of purged tasks and wakes their waiters, as a cancel would', async () => {
    const unique = { uniqueForMs: 60_000, payload: 'unique' };
    const held = await h.producer.enqueue(task(unique));
    const waiter = h.moduleRef.get(TaskWaiter);
    // Longer than the test may take: only the purge's wake-up can end it in time.
    const waiting = waiter.untilFinished(held.id, 600_000);
    await waitFor(async () => (await redis.hget(hashKey(held.id), 'watched')) !== null, {
      what: 'the task to be watched',
    });
    expect(await h.admin.purge(queue, 'queued')).toBe(1);
    await waiting;
    const again = await h.producer.enqueue(task(unique));
    expect(again.id).not.toBe(held.id);
    await h.consumer.ack(await claim(again.id), '');
  });
});
