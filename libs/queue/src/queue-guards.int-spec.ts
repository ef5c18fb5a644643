import {
  checkQueueInvariant,
  createTestRedis,
  newTask,
  QueueHarness,
  snapshotKeys,
  TestRedis,
  waitFor,
} from '@app/testing';
import { ClaimedTask, NewTask, QueueErrorCode, queueKeys, taskIdPrefix } from '@app/queue';

/**
 * Guards of libs/queue, on a real Redis: every script checks all its inputs before its first
 * write, indexes do not outgrow their data, the queue registry is bounded, and a batch names what it
 * wrote when one of its queues fails.
 */
describe('libs/queue guards', () => {
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

  async function claimOne(): Promise<ClaimedTask> {
    const { id } = await h.producer.enqueue(task());
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    expect(run.id).toBe(id);
    return run;
  }

  it('failTask refuses a non-finite retry delay before its first write: the task keeps its home and lease', async () => {
    const run = await claimOne();
    const keys = queueKeys(h.prefix, queue);
    // The client refuses before sending...
    await expect(h.consumer.fail(run, { action: 'retry', delayMs: NaN, error: 'x' })).rejects.toMatchObject({
      code: QueueErrorCode.BadArgument,
      maybeApplied: false,
    });
    // ...and the script refuses on its own, for a caller that skips that check.
    const before = await snapshotKeys(redis, h.prefix);
    const fail = (action: string, arg: string, dlqMax = '0', mode = 'expire') =>
      h.scripts.taskqFailTask(
        keys.active,
        keys.retrying,
        keys.dead,
        keys.deadTrimmed,
        keys.wake,
        keys.archive,
        keys.throughput,
        keys.meta,
        keys.taskPrefix,
        run.id,
        run.leaseToken,
        'boom',
        action,
        arg,
        dlqMax,
        mode,
        '',
      );
    for (const [action, arg, dlqMax, mode] of [
      ['retry', 'NaN'],
      ['retry', 'Infinity'],
      ['retry', '-inf'],
      ['retry', '1.5'],
      ['retry', '-1'],
      ['retry', ''],
      ['dead', 'not_a_reason'],
      ['later', '0'],
      ['dead', 'max_retries', 'NaN'],
      ['dead', 'max_retries', '0', 'keep'],
    ]) {
      await expect(fail(action, arg, dlqMax, mode)).rejects.toThrow(/TASKQ_BADARG/);
    }
    expect(await snapshotKeys(redis, h.prefix)).toEqual(before);
    expect(await redis.zscore(keys.active, run.id)).not.toBeNull();
    expect(await redis.hget(`${keys.taskPrefix}${run.id}`, 'lease')).toBe(run.leaseToken);
    // A good call still works on the untouched task.
    await h.consumer.fail(run, { action: 'retry', delayMs: 0, error: 'boom' });
    expect((await h.inspector.getTask(run.id)).status).toBe('retrying');
  });

  it('enqueue with a bad task in the middle of a batch writes nothing at all', async () => {
    await h.producer.enqueue(task()); // the queue exists: registry, seq and wake keys are there
    const before = await snapshotKeys(redis, h.prefix);
    const keys = queueKeys(h.prefix, queue);
    const group = (name: string, priority: string, timeout = '1000', delay = '0') => [
      'echo',
      JSON.stringify(name),
      priority,
      '3',
      timeout,
      delay,
      '',
      '',
      '',
      '0',
      '',
    ];
    const enqueue = (count: number, ...groups: string[][]) =>
      h.scripts.taskqEnqueueTasks(
        keys.queued,
        keys.scheduled,
        keys.seq,
        keys.wake,
        keys.ready,
        keys.taskPrefix,
        keys.idemPrefix,
        keys.uniquePrefix,
        60,
        count,
        taskIdPrefix(queue),
        ...groups.flat(),
      );
    await expect(enqueue(3, group('a', '0'), group('b', 'NaN'), group('c', '0'))).rejects.toThrow(
      /TASKQ_BADARG priority/,
    );
    await expect(enqueue(2, group('a', '0'), group('b', '101'))).rejects.toThrow(/TASKQ_BADARG priority/);
    await expect(enqueue(2, group('a', '0'), group('b', '0', 'inf'))).rejects.toThrow(/TASKQ_BADARG timeout_ms/);
    await expect(enqueue(2, group('a', '0'), group('b', '0', '1', 'nan'))).rejects.toThrow(/TASKQ_BADARG delay/);
    await expect(enqueue(3, group('a', '0'), group('b', '0'))).rejects.toThrow(/TASKQ_BADARG task count/);
    // The client refuses a batch with one non-finite number before sending any of it.
    await expect(h.producer.enqueueMany([task(), task({ priority: NaN })])).rejects.toMatchObject({
      code: QueueErrorCode.BadArgument,
    });
    await expect(h.producer.enqueue(task({ delayMs: Infinity }))).rejects.toMatchObject({
      code: QueueErrorCode.BadArgument,
    });
    expect(await snapshotKeys(redis, h.prefix)).toEqual(before);
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(run, '');
  });

  it('keeps the succeeded index exactly as large as the retained hashes', async () => {
    await h.close(redis);
    h = await QueueHarness.boot({ resultTtlSeconds: 1 });
    const keys = queueKeys(h.prefix, queue);
    await h.producer.enqueueMany([task(), task(), task()]);
    const { tasks } = await h.consumer.claim(queue, 3);
    await Promise.all(tasks.map((t) => h.consumer.ack(t, '')));
    const cancelled = await h.producer.enqueue(task());
    await h.admin.cancel(cancelled.id);
    const hashes = [...tasks.map((t) => t.id), cancelled.id].map((id) => `${keys.taskPrefix}${id}`);
    expect(await redis.zcard(keys.succeeded)).toBe(3);
    // Past RESULT_TTL_SECONDS they no longer count...
    await waitFor(
      async () => {
        const { counts } = await h.inspector.stats(queue);
        return counts.succeeded === 0 && counts.cancelled === 0;
      },
      { timeoutMs: 10_000, what: 'the retained tasks to expire' },
    );
    expect(await redis.exists(...hashes)).toBe(4);
    // ...and the recoverer's periodic pass deletes them with their index entries (no TTL per hash).
    await h.consumer.recoverExpired(queue, 0);
    expect(await redis.exists(...hashes)).toBe(0);
    expect(await redis.zcard(keys.succeeded)).toBe(0);
    expect(await redis.zcard(keys.cancelled)).toBe(0);
  });

  it('with RESULT_TTL_SECONDS 0 an ack still sweeps entries left by an earlier retention', async () => {
    await h.close(redis);
    h = await QueueHarness.boot({ resultTtlSeconds: 0 });
    const keys = queueKeys(h.prefix, queue);
    await redis.zadd(keys.succeeded, Date.now() - 1000, `${queue}.expired-under-an-earlier-setting`);
    const run = await claimOne();
    await h.consumer.ack(run, '');
    expect(await redis.zcard(keys.succeeded)).toBe(0);
  });

  it('bounds the queue registry at MAX_QUEUES and lets an empty queue be forgotten', async () => {
    await h.close(redis);
    h = await QueueHarness.boot({ maxQueues: 2, resultTtlSeconds: 0 });
    await h.producer.enqueue(task());
    await h.producer.enqueue(newTask('q2'));
    const before = await snapshotKeys(redis, h.prefix);
    await expect(h.producer.enqueue(newTask('q3'))).rejects.toMatchObject({
      code: QueueErrorCode.LimitReached,
      message: expect.stringContaining('MAX_QUEUES'),
    });
    // All or nothing: a batch with one queue too many writes none of its tasks.
    await expect(h.producer.enqueueMany([task(), newTask('q3')])).rejects.toMatchObject({
      code: QueueErrorCode.LimitReached,
    });
    expect(await snapshotKeys(redis, h.prefix)).toEqual(before);
    expect(await h.inspector.listQueues()).toEqual(['q1', 'q2']);

    await expect(h.admin.forget('q1')).rejects.toMatchObject({
      code: QueueErrorCode.WrongState,
      message: expect.stringContaining('still holds 1 task'),
    });
    await expect(h.admin.forget('nope')).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
    const [run] = (await h.consumer.claim('q2', 1)).tasks;
    await h.consumer.ack(run, '');
    await h.admin.forget('q2');
    expect(await h.inspector.listQueues()).toEqual(['q1']);
    expect(Object.keys(await snapshotKeys(redis, h.prefix)).filter((key) => key.includes('{q2}'))).toEqual([]);
    expect((await h.producer.enqueue(newTask('q3'))).queue).toBe('q3');
    const [first] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(first, '');
    const [third] = (await h.consumer.claim('q3', 1)).tasks;
    await h.consumer.ack(third, '');
  });

  it('writes a multi-queue batch atomically per queue and names what it wrote when one queue fails', async () => {
    // A corrupt enqueue counter makes the `broken` queue's script fail at its first write.
    await h.producer.enqueue(newTask('broken', { priority: 1 }));
    const broken = queueKeys(h.prefix, 'broken');
    const [stuck] = (await h.consumer.claim('broken', 1)).tasks;
    await h.consumer.ack(stuck, '');
    await redis.set(broken.seq, 'not-a-number');
    const error = (await h.producer.enqueueMany([task(), newTask('broken'), task()]).catch((e: unknown) => e)) as {
      written?: string[];
    };
    expect(error).toBeInstanceOf(Error);
    expect(error.written).toHaveLength(2);
    for (const id of error.written!) expect((await h.inspector.getTask(id)).status).toBe('queued');
    expect((await redis.zcard(broken.queued)) + (await redis.llen(broken.ready))).toBe(0);
    expect(await checkQueueInvariant(redis, h.prefix, 'broken')).toEqual([]);
    for (const run of (await h.consumer.claim(queue, 2)).tasks) await h.consumer.ack(run, '');
  });

  it('says which state a task is in when an operation needs another', async () => {
    const run = await claimOne();
    await h.consumer.ack(run, '');
    await expect(h.dlq.requeue(run.id)).rejects.toMatchObject({
      code: QueueErrorCode.WrongState,
      message: `task ${run.id} is succeeded, not dead`,
    });
    await expect(h.dlq.delete(run.id)).rejects.toMatchObject({ message: `task ${run.id} is succeeded, not dead` });
  });

  it('counts hand-backs at shutdown in the task (releases), apart from lease recoveries', async () => {
    const run = await claimOne();
    await h.consumer.release(run);
    const [again] = (await h.consumer.claim(queue, 1)).tasks;
    expect(await redis.hget(`${queueKeys(h.prefix, queue).taskPrefix}${run.id}`, 'releases')).toBe('1');
    expect(await h.inspector.getTask(run.id)).toMatchObject({ recoveries: 0, attempts: 1 });
    expect(again.attempt).toBe(1);
    await h.consumer.ack(again, '');
  });
});
