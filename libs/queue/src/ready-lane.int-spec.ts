import { checkQueueInvariant, createTestRedis, newTask, QueueHarness, TestRedis } from '@app/testing';
import { NewTask, QueueErrorCode, queueKeys } from '@app/queue';

// A hang guard for a loaded machine (thousands of cancels in one test), not a speed bound.
jest.setTimeout(30_000);

/**
 * The ready lane (ADR 12): priority-0 tasks wait in a LIST, every other priority in the queued sorted
 * set; cancel leaves a tombstone in the list. What a user sees does not change: claim order, counts,
 * listings, cancel, retry, purge and forget, on a real Redis, with the one-home invariant (which
 * counts the tombstones) checked after every test.
 */
describe('libs/queue ready lane', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  const queue = 'lane';
  const task = (over: Partial<NewTask> = {}) => newTask(queue, over);
  const keys = () => queueKeys(h.prefix, queue);
  const enqueue = async (over: Partial<NewTask> = {}) => (await h.producer.enqueue(task(over))).id;
  const claimIds = async (max: number) => (await h.consumer.claim(queue, max)).tasks.map((t) => t.id);

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

  it('keeps priority 0 in the list and claims higher priorities first, then the list in order, then lower', async () => {
    const low = await enqueue({ priority: -5 });
    const first = await enqueue();
    const high = await enqueue({ priority: 5 });
    const second = await enqueue();
    expect(await redis.lrange(keys().ready, 0, -1)).toEqual([first, second]);
    expect(await redis.zrange(keys().queued, 0, -1)).toEqual([high, low]);
    expect((await h.inspector.stats(queue)).counts.queued).toBe(4);

    const listed = [];
    let cursor: string | undefined;
    do {
      const page = await h.inspector.listTasks({ queues: [queue], status: 'queued', limit: 1, cursor });
      listed.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(listed).toEqual([high, first, second, low]);

    expect(await claimIds(1)).toEqual([high]);
    const runs = await h.consumer.claim(queue, 1);
    expect(runs.tasks.map((t) => t.id)).toEqual([first]);
    // A released priority-0 task goes to the front again: ahead of the list.
    await h.consumer.release(runs.tasks[0]);
    expect(await claimIds(10)).toEqual([first, second, low]);
    expect((await h.inspector.stats(queue)).counts.queued).toBe(0);
  });

  it('never runs a task cancelled in the list, counts it out at once and drops its entry at the next claim', async () => {
    const [a, b, c] = [await enqueue(), await enqueue(), await enqueue()];
    expect(await h.admin.cancel(b)).toBe('queued');
    expect(await redis.llen(keys().ready)).toBe(3);
    expect(await redis.hget(keys().meta, 'ready_stale')).toBe('1');
    expect((await h.inspector.stats(queue)).counts).toMatchObject({ queued: 2, cancelled: 1 });
    const listed = await h.inspector.listTasks({ queues: [queue], status: 'queued', limit: 10 });
    expect(listed.tasks.map((t) => t.id)).toEqual([a, c]);

    expect(await claimIds(10)).toEqual([a, c]);
    expect(await redis.llen(keys().ready)).toBe(0);
    expect(await redis.hget(keys().meta, 'ready_stale')).toBe('0');
    expect((await h.inspector.getTask(b)).status).toBe('cancelled');
  });

  it('gives a task cancelled and retried while its tombstone waits its place in line back: one entry, never two', async () => {
    const cancelled = await enqueue();
    const next = await enqueue();
    await h.admin.cancel(cancelled);
    await h.admin.retry(cancelled);
    const after = await enqueue();
    expect(await redis.lrange(keys().ready, 0, -1)).toEqual([cancelled, next, after]);
    expect(await redis.hget(keys().meta, 'ready_stale')).toBe('0');
    expect((await h.inspector.stats(queue)).counts.queued).toBe(3);
    const listed = await h.inspector.listTasks({ queues: [queue], status: 'queued', limit: 10 });
    expect(listed.tasks.map((t) => t.id)).toEqual([cancelled, next, after]);
    expect(await claimIds(10)).toEqual([cancelled, next, after]);

    // Once a claim has dropped its tombstone, a retried task joins the back.
    const gone = await enqueue();
    const stays = await enqueue();
    await h.admin.cancel(gone);
    expect(await claimIds(1)).toEqual([stays]);
    await h.admin.retry(gone);
    expect(await redis.lrange(keys().ready, 0, -1)).toEqual([gone]);
    expect(await claimIds(1)).toEqual([gone]);
  });

  it('reaches a task behind more tombstones than one claim pops: the claim asks to be called again at once', async () => {
    const cancelled = (await h.producer.enqueueMany(Array.from({ length: 1_500 }, () => task()))).map((t) => t.id);
    for (const id of cancelled) await h.admin.cancel(id);
    const live = await enqueue();
    expect((await h.inspector.stats(queue)).counts.queued).toBe(1);

    const first = await h.consumer.claim(queue, 1);
    expect(first.tasks).toEqual([]);
    expect(first.nextDueAt).toBe(first.now);
    expect((await h.consumer.claim(queue, 1)).tasks.map((t) => t.id)).toEqual([live]);
    expect(await redis.llen(keys().ready)).toBe(0);
  });

  it('purges the list with its tombstones, counting only the tasks', async () => {
    const ids = (await h.producer.enqueueMany(Array.from({ length: 10 }, () => task()))).map((t) => t.id);
    const high = await enqueue({ priority: 3 });
    for (const id of ids.slice(0, 4)) await h.admin.cancel(id);
    expect(await h.admin.purge(queue, 'queued')).toBe(7);
    expect(await redis.exists(keys().ready)).toBe(0);
    expect((await h.inspector.stats(queue)).counts).toMatchObject({ queued: 0, cancelled: 4 });
    await expect(h.inspector.getTask(high)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
  });

  it('forgets a queue whose list holds only tombstones, and refuses one with a task in it', async () => {
    const id = await enqueue();
    await expect(h.admin.forget(queue)).rejects.toMatchObject({ code: QueueErrorCode.WrongState });
    await h.admin.cancel(id);
    await redis.del(`${keys().taskPrefix}${id}`, keys().cancelled);
    await h.admin.forget(queue);
    expect(await redis.exists(keys().ready, keys().meta)).toBe(0);
  });
});
