import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { checkQueueInvariant, createTestRedis, newTask, QueueHarness, TestRedis } from '@app/testing';
import {
  DeadLetterAdmin,
  NewTask,
  QueueConsumer,
  QueueError,
  QueueErrorCode,
  QueueInspector,
  QueueModule,
  QueueModuleOptions,
  QueueProducer,
  queueKeys,
  REDIS_CLIENT,
} from '@app/queue';

/** Each script of libs/queue against a real Redis, with the one-home invariant checked after every test. */
describe('libs/queue on a real Redis', () => {
  let moduleRef: TestingModule;
  let redis: TestRedis;
  let prefix: string;
  let producer: QueueProducer;
  let consumer: QueueConsumer;
  let inspector: QueueInspector;
  let dlq: DeadLetterAdmin;
  const queue = 'q1';

  let harness: QueueHarness | undefined;

  async function boot(overrides: Partial<QueueModuleOptions> = {}) {
    if (harness) await harness.close(redis);
    harness = await QueueHarness.boot(overrides);
    ({ moduleRef, prefix, producer, consumer, inspector, dlq } = harness);
  }

  const task = (over: Partial<NewTask> = {}): NewTask => newTask(queue, over);

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => boot());
  afterEach(async () => {
    expect(await checkQueueInvariant(redis, prefix, queue)).toEqual([]);
    await harness!.close(redis);
    harness = undefined;
  });

  it('enqueues, claims with a lease, acks with a result', async () => {
    const enqueued = await producer.enqueue(task({ payload: 'hello' }));
    expect(enqueued).toMatchObject({ queue, status: 'queued' });
    expect(enqueued.id.startsWith(`${queue}.`)).toBe(true);

    const { tasks } = await consumer.claim(queue, 10);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ id: enqueued.id, type: 'echo', attempt: 1, payloadJson: '"hello"' });
    expect((await inspector.getTask(enqueued.id)).status).toBe('active');

    await consumer.ack(tasks[0], JSON.stringify({ ok: true }));
    const record = await inspector.getTask(enqueued.id);
    expect(record).toMatchObject({ status: 'succeeded', result: { ok: true }, attempts: 1 });
    expect(record.finishedAt).not.toBeNull();
    // Retained by its index entry's score (RESULT_TTL_SECONDS on), not a TTL on the hash.
    expect(await redis.ttl(`${queueKeys(prefix, queue).taskPrefix}${enqueued.id}`)).toBe(-1);
    const expiresAt = Number(await redis.zscore(queueKeys(prefix, queue).succeeded, enqueued.id));
    expect(expiresAt - record.finishedAt!).toBe(3_600_000);
  });

  it('claims higher priority first and FIFO within a priority', async () => {
    const low = await producer.enqueueMany([task({ priority: -5 }), task({ priority: -5 })]);
    const high = await producer.enqueueMany([task({ priority: 10 }), task({ priority: 10 })]);
    const mid = await producer.enqueue(task({ priority: 0 }));
    const { tasks } = await consumer.claim(queue, 10);
    expect(tasks.map((t) => t.id)).toEqual([high[0].id, high[1].id, mid.id, low[0].id, low[1].id]);
    for (const t of tasks) await consumer.ack(t, '');
  });

  it('makes short ids that hold the creation time, in sequence, unique across calls', async () => {
    const [before] = await redis.time();
    const ids = (await producer.enqueueMany([task(), task(), task()])).map((t) => t.id);
    ids.push((await producer.enqueue(task())).id);
    const [after] = await redis.time();
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) {
      expect(id).toMatch(/^q1\.[0-9a-z]{11,14}$/);
      const createdAt = (await inspector.getTask(id)).createdAt;
      expect(createdAt).toBeGreaterThanOrEqual(Number(before) * 1000);
      expect(createdAt).toBeLessThanOrEqual((Number(after) + 1) * 1000);
    }
    // The sequence part counts up within a queue: one call's tasks are consecutive; ids sort as text.
    const seqOf = (id: string) => parseInt(id.slice('q1.'.length + 10), 36);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.slice(0, 3).map(seqOf)).toEqual([seqOf(ids[0]), seqOf(ids[0]) + 1, seqOf(ids[0]) + 2]);
    expect(seqOf(ids[3])).toBeGreaterThan(seqOf(ids[2]));
    for (const t of (await consumer.claim(queue, 4)).tasks) await consumer.ack(t, '');
  });

  it('stores no task field that holds its default, and every reader defaults it', async () => {
    const [before] = await redis.time();
    const [plain, urgent] = await producer.enqueueMany([task(), task({ priority: 7 })]);
    const delayed = await producer.enqueue(task({ delayMs: 60_000 }));
    const hashOf = (id: string) => redis.hgetall(`${queueKeys(prefix, queue).taskPrefix}${id}`);
    const stored = await hashOf(plain.id);
    for (const field of ['priority', 'attempts', 'recoveries', 'next_run_at', 'created_at'])
      expect(stored).not.toHaveProperty(field);
    expect(await hashOf(urgent.id)).toMatchObject({ priority: '7' });
    const createdAt = (await inspector.getTask(plain.id)).createdAt;
    expect(createdAt).toBeGreaterThanOrEqual(Number(before) * 1000);
    expect(Number((await hashOf(delayed.id)).next_run_at)).toBeGreaterThan(createdAt);
    expect(await inspector.getTask(plain.id)).toMatchObject({
      priority: 0,
      attempts: 0,
      recoveries: 0,
      nextRunAt: createdAt,
    });
    expect((await inspector.stats(queue)).oldestQueuedAgeMs).toBeGreaterThanOrEqual(0);

    const claimed = (await consumer.claim(queue, 2)).tasks;
    expect(claimed.map((t) => [t.id, t.priority, t.attempt])).toEqual([
      [urgent.id, 7, 1],
      [plain.id, 0, 1],
    ]);
    expect(claimed[1].dueAt).toBe(createdAt);
    for (const t of claimed) await consumer.ack(t, '');
  });

  it('keeps delayed tasks scheduled until due, then promotes them', async () => {
    const delayed = await producer.enqueue(task({ delayMs: 300 }));
    expect(delayed.status).toBe('scheduled');
    const first = await consumer.claim(queue, 10);
    expect(first.tasks).toHaveLength(0);
    expect(first.nextDueAt).toBeGreaterThan(first.now);
    expect((await inspector.getTask(delayed.id)).status).toBe('scheduled');
    // Wait on Redis' own clock, not ours.
    let claimed = first;
    while (!claimed.tasks.length) {
      expect(claimed.now).toBeLessThan(first.nextDueAt! + 5000);
      await consumer.waitForWork([queue], Math.max(10, claimed.nextDueAt! - claimed.now));
      claimed = await consumer.claim(queue, 10);
    }
    expect(claimed.tasks[0].id).toBe(delayed.id);
    expect(claimed.now).toBeGreaterThanOrEqual(first.nextDueAt!);
    await consumer.ack(claimed.tasks[0], '');
  });

  it('schedules a retry, then dead-letters with the reason and last error', async () => {
    const { id } = await producer.enqueue(task());
    let [run] = (await consumer.claim(queue, 1)).tasks;
    await consumer.fail(run, { action: 'retry', delayMs: 0, error: 'boom 1' });
    expect(await inspector.getTask(id)).toMatchObject({ status: 'retrying', lastError: 'boom 1', attempts: 1 });

    [run] = (await consumer.claim(queue, 1)).tasks;
    expect(run.attempt).toBe(2);
    await consumer.fail(run, { action: 'dead', reason: 'max_retries', error: 'boom 2' });
    expect(await inspector.getTask(id)).toMatchObject({
      status: 'dead',
      deadReason: 'max_retries',
      lastError: 'boom 2',
    });
    const page = await inspector.listDeadAcross([queue], 10);
    expect(page.tasks.map((t) => t.id)).toEqual([id]);
    // The listing says why, and never carries payloads (a page of large ones would be huge).
    expect(page.tasks[0]).toMatchObject({ lastError: 'boom 2', deadReason: 'max_retries' });
    expect(page.tasks[0]).not.toHaveProperty('payload');
    expect(page.tasks[0]).not.toHaveProperty('result');
  });

  it('refuses ack, fail and release from a caller whose lease is gone (fencing)', async () => {
    await boot({ leaseMs: 50, maxRecoveries: 5 });
    const { id } = await producer.enqueue(task());
    const [stale] = (await consumer.claim(queue, 1)).tasks;
    let recovered: Awaited<ReturnType<QueueConsumer['recoverExpired']>> = [];
    while (!recovered.length) recovered = await consumer.recoverExpired(queue, 0);
    expect(recovered).toEqual([{ id, queue, type: 'echo', outcome: 'queued' }]);
    const [fresh] = (await consumer.claim(queue, 1)).tasks;
    expect(fresh.attempt).toBe(1); // recovery did not burn an attempt

    for (const call of [
      () => consumer.ack(stale, '"stale"'),
      () => consumer.fail(stale, { action: 'dead', reason: 'max_retries', error: 'stale' }),
      () => consumer.release(stale),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: QueueErrorCode.LeaseLost });
    }
    // Lost leases are named by token: one worker may hold a stale and a fresh run of the same task.
    expect(await consumer.heartbeat(queue, [stale, fresh])).toEqual([stale.leaseToken]);
    await consumer.ack(fresh, '"fresh"');
    expect((await inspector.getTask(id)).result).toBe('fresh');
  });

  it('dead-letters a task whose lease keeps expiring (lease_expired)', async () => {
    await boot({ leaseMs: 40, maxRecoveries: 2 });
    const { id } = await producer.enqueue(task());
    const outcomes: string[] = [];
    while (!outcomes.includes('dead')) {
      await consumer.claim(queue, 1);
      let got: Awaited<ReturnType<QueueConsumer['recoverExpired']>> = [];
      while (!got.length) got = await consumer.recoverExpired(queue, 0);
      outcomes.push(...got.map((r) => r.outcome));
    }
    expect(outcomes).toEqual(['queued', 'queued', 'dead']);
    expect(await inspector.getTask(id)).toMatchObject({ status: 'dead', deadReason: 'lease_expired', recoveries: 3 });
  });

  it('keeps a lease alive with heartbeats for several lease lengths', async () => {
    // Long enough that only a missed heartbeat, not a busy machine's pause between two calls, loses it.
    await boot({ leaseMs: 500, maxRecoveries: 2 });
    const other = await producer.enqueue(task());
    const [held] = (await consumer.claim(queue, 1)).tasks;
    const heartbeatUntil = Date.now() + 1500;
    while (Date.now() < heartbeatUntil) {
      expect(await consumer.heartbeat(queue, [held])).toEqual([]);
      expect(await consumer.recoverExpired(queue, 0)).toEqual([]);
    }
    await consumer.ack(held, '');
    expect((await inspector.getTask(other.id)).status).toBe('succeeded');
  });

  it('releases at shutdown without burning the attempt, to the front of its priority', async () => {
    const [a, b] = await producer.enqueueMany([task(), task()]);
    const [first] = (await consumer.claim(queue, 1)).tasks;
    expect(first.id).toBe(a.id);
    await consumer.release(first);
    const { tasks } = await consumer.claim(queue, 2);
    expect(tasks.map((t) => [t.id, t.attempt])).toEqual([
      [a.id, 1],
      [b.id, 1],
    ]);
    for (const t of tasks) await consumer.ack(t, '');
  });

  it('requeues a dead task with attempts reset, deletes and purges; 404 and 409 codes', async () => {
    const [x, y, z] = await producer.enqueueMany([task(), task(), task()]);
    for (const run of (await consumer.claim(queue, 3)).tasks) {
      await consumer.fail(run, { action: 'dead', reason: 'non_retryable', error: 'no' });
    }
    await dlq.requeue(x.id);
    expect(await inspector.getTask(x.id)).toMatchObject({ status: 'queued', attempts: 0, deadReason: null });
    await expect(dlq.requeue(x.id)).rejects.toMatchObject({ code: QueueErrorCode.WrongState });
    await expect(dlq.delete(`${queue}.00000000-0000-0000-0000-000000000000`)).rejects.toMatchObject({
      code: QueueErrorCode.NotFound,
    });
    await expect(dlq.requeue('not-an-id')).rejects.toBeInstanceOf(QueueError);
    await dlq.delete(y.id);
    await expect(inspector.getTask(y.id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
    expect(await dlq.purge(queue)).toBe(1);
    await expect(inspector.getTask(z.id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
    const [again] = (await consumer.claim(queue, 1)).tasks;
    await consumer.ack(again, '');
  });

  it('caps the dead-letter queue at DLQ_MAX_SIZE and counts what it trims', async () => {
    await boot({ dlqMaxSize: 2 });
    const ids = (await producer.enqueueMany([task(), task(), task()])).map((t) => t.id);
    for (const run of (await consumer.claim(queue, 3)).tasks) {
      await consumer.fail(run, { action: 'dead', reason: 'max_retries', error: 'x' });
    }
    const stats = await inspector.stats(queue);
    expect(stats.counts.dead).toBe(2);
    expect(stats.deadTrimmed).toBe(1);
    // The oldest death goes; deaths within one ms tie, so count rather than name it.
    const gone = await Promise.all(
      ids.map((id) =>
        inspector.getTask(id).then(
          () => false,
          () => true,
        ),
      ),
    );
    expect(gone.filter(Boolean)).toHaveLength(1);
  });

  it('reports counts per state and the age of the oldest queued task across priorities', async () => {
    await producer.enqueue(task({ priority: -50 }));
    await producer.enqueueMany([task({ priority: 50 }), task({ delayMs: 60_000 })]);
    const [claimed] = (await consumer.claim(queue, 1)).tasks; // takes the priority-50 task
    expect(claimed.priority).toBe(50);
    const stats = await inspector.stats(queue);
    expect(stats.counts).toEqual({
      scheduled: 1,
      queued: 1,
      active: 1,
      retrying: 0,
      succeeded: 0,
      dead: 0,
      cancelled: 0,
    });
    expect(stats.oldestQueuedAgeMs).not.toBeNull();
    expect(await inspector.listQueues()).toEqual([queue]);
    await consumer.ack(claimed, '');
    expect((await inspector.stats(queue)).counts.succeeded).toBe(1);
  });

  it('coalesces acks of one tick into one script call (ackTasks), fencing each task on its own', async () => {
    const ids = (await producer.enqueueMany([task({ payload: 0 }), task({ payload: 1 }), task({ payload: 2 })])).map(
      (t) => t.id,
    );
    const { tasks } = await consumer.claim(queue, 3);
    const forged = { ...tasks[1], leaseToken: 'not-the-token' };
    const scripts = jest.spyOn(
      moduleRef.get<{ taskqAckTasks: (...args: unknown[]) => Promise<number[]> }>(REDIS_CLIENT),
      'taskqAckTasks',
    );
    const settled = await Promise.allSettled([
      consumer.ack(tasks[0], '"a"'),
      consumer.ack(forged, '"forged"'),
      consumer.ack(tasks[2], '"c"'),
    ]);
    expect(scripts).toHaveBeenCalledTimes(1);
    scripts.mockRestore();
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: QueueErrorCode.LeaseLost });
    expect((await inspector.getTask(ids[0])).result).toBe('a');
    expect((await inspector.getTask(ids[1])).status).toBe('active');
    expect((await inspector.getTask(ids[2])).result).toBe('c');
    await consumer.ack(tasks[1], '"b"');
    expect((await inspector.getTask(ids[1])).result).toBe('b');
  });

  it('deletes finished tasks at once when RESULT_TTL_SECONDS is 0', async () => {
    await boot({ resultTtlSeconds: 0 });
    const { id } = await producer.enqueue(task());
    const [run] = (await consumer.claim(queue, 1)).tasks;
    await consumer.ack(run, '');
    await expect(inspector.getTask(id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
  });

  it('fails fast with Unavailable when Redis cannot be reached', async () => {
    const down = await Test.createTestingModule({
      imports: [
        QueueModule.forRoot({
          redis: { mode: 'standalone', url: 'redis://127.0.0.1:1' },
          prefix,
          leaseMs: 1000,
          resultTtlSeconds: 1,
          maxRecoveries: 1,
          maxQueues: 0,
          dlqMaxSize: 0,
          commandTimeoutMs: 500,
          connectionName: 'int-test-down',
        }),
      ],
    }).compile();
    // Refused before sending (no offline queue): certainly not applied.
    await expect(down.get(QueueProducer).enqueue(task())).rejects.toMatchObject({
      code: QueueErrorCode.Unavailable,
      maybeApplied: false,
    });
    // Never initialised, so Nest runs no shutdown hook: stop the reconnecting client by hand.
    down.get<Redis>(REDIS_CLIENT).disconnect();
    await down.close();
  });
});
