import { ClaimedTask, NewTask, QueueConsumer, QueueProducer, queueKeys } from '@app/queue';
import { checkPrefixInvariant, checkQueueInvariant, createTestRedis, QueueHarness, TestRedis } from '@app/testing';

/**
 * The invariant helper itself, against a real Redis: a state written by the library's own scripts
 * passes, and each kind of breakage the fault suite relies on it to find is reported.
 */
describe('checkQueueInvariant / checkPrefixInvariant', () => {
  const RETENTION_S = 3600;
  let harness: QueueHarness;
  let redis: TestRedis;
  let prefix: string;
  let producer: QueueProducer;
  let consumer: QueueConsumer;

  const task = (queue: string, over: Partial<NewTask> = {}): NewTask => ({
    type: 'echo',
    queue,
    payload: 1,
    priority: 0,
    maxRetries: 1,
    timeoutMs: 1000,
    ...over,
  });
  const hashKey = (queue: string, id: string) => `${queueKeys(prefix, queue).taskPrefix}${id}`;

  /** q1: one task in each of queued, scheduled, active, succeeded, dead; q2: one succeeded. */
  async function seed() {
    const [toActive, toSucceed, toDie] = await producer.enqueueMany([task('q1'), task('q1'), task('q1')]);
    const { tasks } = await consumer.claim('q1', 3);
    const claimed = new Map<string, ClaimedTask>(tasks.map((t) => [t.id, t]));
    await consumer.ack(claimed.get(toSucceed.id)!, '"ok"');
    await consumer.fail(claimed.get(toDie.id)!, { action: 'dead', reason: 'non_retryable', error: 'Error: no' });
    const queued = await producer.enqueue(task('q1'));
    const scheduled = await producer.enqueue(task('q1', { delayMs: 3_600_000 }));
    const other = await producer.enqueue(task('q2'));
    const [otherRun] = (await consumer.claim('q2', 1)).tasks;
    await consumer.ack(otherRun, '');
    return {
      queued: queued.id,
      scheduled: scheduled.id,
      active: toActive.id,
      succeeded: toSucceed.id,
      dead: toDie.id,
      other: other.id,
    };
  }

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    harness = await QueueHarness.boot({ resultTtlSeconds: RETENTION_S });
    ({ prefix, producer, consumer } = harness);
  });
  afterEach(async () => {
    await harness.close(redis);
  });

  it('holds for every state the scripts write, in every queue under the prefix', async () => {
    await seed();
    const options = { resultTtlSeconds: RETENTION_S };
    expect(await checkQueueInvariant(redis, prefix, 'q1', options)).toEqual([]);
    expect(await checkQueueInvariant(redis, prefix, 'q2', options)).toEqual([]);
    expect(await checkPrefixInvariant(redis, prefix, options)).toEqual([]);
  });

  it('with requireFinished, reports each task not succeeded or dead', async () => {
    const ids = await seed();
    const problems = await checkPrefixInvariant(redis, prefix, {
      resultTtlSeconds: RETENTION_S,
      requireFinished: true,
    });
    expect(problems.sort()).toEqual(
      [
        `${ids.queued} is queued, not finished`,
        `${ids.scheduled} is scheduled, not finished`,
        `${ids.active} is active, not finished`,
      ].sort(),
    );
  });

  it('reports an orphan hash: a task hash in no home', async () => {
    const ids = await seed();
    await redis.lrem(queueKeys(prefix, 'q1').ready, 0, ids.queued);
    expect(await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: RETENTION_S })).toEqual([
      `${ids.queued} has a hash (status queued) but no home`,
    ]);
  });

  it('reports an index entry without its hash, in a queue found under the prefix', async () => {
    const ids = await seed();
    // One DEL per queue: the two hashes are in different cluster slots.
    await redis.del(hashKey('q1', ids.dead));
    await redis.del(hashKey('q2', ids.other));
    const problems = await checkPrefixInvariant(redis, prefix, { resultTtlSeconds: RETENTION_S });
    expect(problems).toHaveLength(2);
    expect(problems).toContain(`${ids.dead} is in dead but has no hash`);
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${ids.other} is in succeeded but has no hash`)));
  });

  it('tolerates a retained entry without hash only once its expiry (the index score) has passed', async () => {
    const ids = await seed();
    const succeeded = queueKeys(prefix, 'q1').succeeded;
    await redis.del(hashKey('q1', ids.succeeded));
    // Retained until an hour from now: its hash cannot have expired yet, so it was lost.
    expect(await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: RETENTION_S })).toEqual([
      expect.stringMatching(new RegExp(`^${ids.succeeded} is in succeeded but has no hash`)),
    ]);
    // Its expiry has passed: the hash expired by design, the sweep has not run yet.
    const [seconds] = await redis.time();
    await redis.zadd(succeeded, (Number(seconds) - 60) * 1000, ids.succeeded);
    expect(await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: RETENTION_S })).toEqual([]);
    // With retention 0 nothing finished is kept: an entry retained into the future is wrong.
    await redis.zadd(succeeded, (Number(seconds) + 60) * 1000, ids.succeeded);
    expect(await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: 0 })).toEqual([
      expect.stringMatching(
        new RegExp(`^${ids.succeeded} is retained in succeeded until \\d+ although RESULT_TTL_SECONDS is 0`),
      ),
      expect.stringMatching(new RegExp(`^${ids.succeeded} is in succeeded but has no hash`)),
    ]);
  });

  it('reports a status that names another home, two homes, and a lease outside active', async () => {
    const ids = await seed();
    const keys = queueKeys(prefix, 'q1');
    // Priority 5 waits in the queued set (priority 0 in the ready list, below).
    ids.queued = (await producer.enqueue(task('q1', { priority: 5 }))).id;
    await redis.hset(hashKey('q1', ids.queued), 'status', 'dead');
    await redis.zadd(keys.retrying, 0, ids.scheduled);
    await redis.hset(hashKey('q1', ids.dead), 'lease', 'stale-token');
    const problems = await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: RETENTION_S });
    expect(problems.sort()).toEqual(
      [
        `${ids.queued} is in queued but its status is dead`,
        `${ids.scheduled} is in scheduled and retrying`,
        `${ids.dead} is dead but still has a lease`,
      ].sort(),
    );
  });

  it('counts the ready list as the home of queued priority-0 tasks, and its tombstones against ready_stale', async () => {
    const ids = await seed();
    const keys = queueKeys(prefix, 'q1');
    const cancelled = await producer.enqueue(task('q1'));
    expect(await harness.admin.cancel(cancelled.id)).toBe('queued');
    expect(await redis.lrange(keys.ready, 0, -1)).toEqual([ids.queued, cancelled.id]);
    expect(await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: RETENTION_S })).toEqual([]);

    await redis.hset(keys.meta, 'ready_stale', 0);
    await redis.rpush(keys.ready, ids.scheduled);
    expect(await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: RETENTION_S })).toEqual([
      'ready list of q1 holds 2 tombstones but ready_stale says 0',
    ]);
    await redis.hset(keys.meta, 'ready_stale', 2);
    await redis.lrem(keys.ready, 0, ids.queued);
    expect(await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: RETENTION_S })).toEqual([
      `${ids.queued} has a hash (status queued) but no home`,
    ]);
  });

  describe('with RESULTS_BACKEND=postgres (the archive index is a home)', () => {
    const pg = { resultTtlSeconds: RETENTION_S, resultsBackend: 'postgres' as const };

    /** q1: one succeeded (archive only), one dead (dead + archive), one requeued after its death (queued + archive). */
    async function seedArchived() {
      await harness.close(redis);
      harness = await QueueHarness.boot({ resultTtlSeconds: RETENTION_S, resultsBackend: 'postgres' });
      ({ prefix, producer, consumer } = harness);
      const [a, b, c] = await producer.enqueueMany([task('q1'), task('q1'), task('q1')]);
      const runs = new Map((await consumer.claim('q1', 3)).tasks.map((t) => [t.id, t]));
      await consumer.ack(runs.get(a.id)!, '1');
      await consumer.fail(runs.get(b.id)!, { action: 'dead', reason: 'max_retries', error: 'x' });
      await consumer.fail(runs.get(c.id)!, { action: 'dead', reason: 'max_retries', error: 'x' });
      await harness.dlq.requeue(c.id);
      return { succeeded: a.id, dead: b.id, requeued: c.id };
    }

    it('holds for what the scripts write in that mode', async () => {
      await seedArchived();
      expect(await checkQueueInvariant(redis, prefix, 'q1', pg)).toEqual([]);
    });

    it('reports an archive entry without its hash, a hash in no home, and an unfinished task only in archive', async () => {
      const ids = await seedArchived();
      const keys = queueKeys(prefix, 'q1');
      await redis.del(hashKey('q1', ids.succeeded));
      await redis.zrem(keys.dead, ids.dead);
      await redis.zrem(keys.archive, ids.dead);
      await redis.lrem(keys.ready, 0, ids.requeued);
      expect((await checkQueueInvariant(redis, prefix, 'q1', pg)).sort()).toEqual(
        [
          `${ids.succeeded} is in archive but has no hash`,
          `${ids.dead} has a hash (status dead) but no home`,
          `${ids.requeued} is only in archive but its status is queued`,
        ].sort(),
      );
    });

    it('reports a finished task in a TTL index, and any archive entry under the redis backend', async () => {
      const ids = await seedArchived();
      const keys = queueKeys(prefix, 'q1');
      await redis.zrem(keys.archive, ids.succeeded);
      await redis.zadd(keys.succeeded, '+inf', ids.succeeded);
      expect(await checkQueueInvariant(redis, prefix, 'q1', pg)).toEqual([
        `${ids.succeeded} is in succeeded, but with RESULTS_BACKEND=postgres finished tasks wait in archive`,
      ]);
      expect(
        (await checkQueueInvariant(redis, prefix, 'q1', { resultTtlSeconds: RETENTION_S }))
          .filter((p) => p.includes('RESULTS_BACKEND is redis'))
          .sort(),
      ).toEqual([ids.dead, ids.requeued].sort().map((id) => `${id} is in archive although RESULTS_BACKEND is redis`));
    });
  });
});
