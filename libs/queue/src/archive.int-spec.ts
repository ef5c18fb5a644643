import { checkQueueInvariant, createTestRedis, newTask, QueueHarness, TestRedis, waitFor } from '@app/testing';
import { ClaimedTask, NewTask, QueueArchive, QueueErrorCode, queueKeys } from '@app/queue';

/**
 * The Redis side of the postgres result store (RESULTS_BACKEND=postgres) on a real Redis: what the
 * finishing scripts put in the archive index, the archiver's claim with a lease, and its settle, with
 * the one-home invariant (archive included) checked after every test. Also the attempt history, which
 * both backends keep.
 */
describe('libs/queue archive (RESULTS_BACKEND=postgres)', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  let archive: QueueArchive;
  const queue = 'q1';
  const task = (over: Partial<NewTask> = {}) => newTask(queue, over);
  const keys = () => queueKeys(h.prefix, queue);
  const hashKey = (id: string) => `${keys().taskPrefix}${id}`;

  async function boot(over: Parameters<typeof QueueHarness.boot>[0] = {}) {
    h = await QueueHarness.boot({ resultsBackend: 'postgres', ...over });
    archive = h.moduleRef.get(QueueArchive);
  }

  async function claimOne(over: Partial<NewTask> = {}): Promise<ClaimedTask> {
    const { id } = await h.producer.enqueue(task(over));
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    expect(run.id).toBe(id);
    return run;
  }

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => boot());
  afterEach(async () => {
    expect(await checkQueueInvariant(redis, h.prefix, queue, { resultsBackend: h.options.resultsBackend })).toEqual([]);
    await h.close(redis);
  });

  it('keeps a succeeded task, without a TTL, in the archive index until its write is settled', async () => {
    const run = await claimOne({ payload: { n: 7 } });
    await h.consumer.ack(run, '{"ok":true}');
    expect(await redis.ttl(hashKey(run.id))).toBe(-1);
    expect(await redis.zcard(keys().succeeded)).toBe(0);
    expect(await redis.zscore(keys().archive, run.id)).not.toBeNull();
    expect(await h.inspector.getTask(run.id)).toMatchObject({ status: 'succeeded', result: { ok: true } });

    const claim = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(claim.tasks[0]?.record).toMatchObject({ id: run.id, status: 'succeeded' });
    // The payload and result only as the stored text: the archive never parses them.
    expect(Object.keys(claim.tasks[0]?.record ?? {})).not.toEqual(expect.arrayContaining(['payload']));
    expect(Object.keys(claim.tasks[0]?.record ?? {})).not.toEqual(expect.arrayContaining(['result']));
    expect(claim.tasks).toEqual([
      {
        rev: 1,
        payloadJson: '{"n":7}',
        resultJson: '{"ok":true}',
        uniqueLock: null,
        uniqueForMs: null,
        record: expect.objectContaining({ id: run.id }),
      },
    ]);
    // Leased: no other archiver takes it meanwhile.
    expect((await archive.claim(queue, 10, 60_000, 1 << 20)).tasks).toEqual([]);
    expect(await archive.pending([queue])).toEqual(new Map([[queue, 1]]));

    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: 1 }])).toEqual({
      settled: 1,
      deleted: 1,
      kept: 0,
    });
    expect(await redis.exists(hashKey(run.id))).toBe(0);
    expect(await redis.zcard(keys().archive)).toBe(0);
    await expect(h.inspector.getTask(run.id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
  });

  it('gives a claimed entry to another archiver once its lease has run out, and again at once after a failed write', async () => {
    const run = await claimOne();
    await h.consumer.ack(run, '1');
    const first = await archive.claim(queue, 10, 50, 1 << 20);
    expect(first.tasks).toHaveLength(1);
    const second = await waitFor(
      async () => {
        const claim = await archive.claim(queue, 10, 60_000, 1 << 20);
        return claim.tasks.length ? claim : undefined;
      },
      { timeoutMs: 5000, what: 'the lease of the first claim to run out' },
    );
    expect(second.tasks[0].record.id).toBe(run.id);
    expect(await archive.settle(queue, 'failed', [{ id: run.id, rev: 1 }])).toMatchObject({ settled: 1 });
    const third = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(third.tasks.map((t) => t.record.id)).toEqual([run.id]);
    // The first archiver settling late is harmless: same revision, written is written.
    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: 1 }])).toMatchObject({ settled: 1, deleted: 1 });
    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: 1 }])).toMatchObject({ settled: 0, deleted: 0 });
  });

  it('keeps a dead task in the dead-letter queue after its row is written; a delete then drops its hash', async () => {
    const run = await claimOne();
    await h.consumer.fail(run, {
      action: 'dead',
      reason: 'non_retryable',
      error: 'Error: no',
      detail: 'Error: no\n  at x',
    });
    expect(await redis.zscore(keys().dead, run.id)).not.toBeNull();
    expect(await redis.zscore(keys().archive, run.id)).not.toBeNull();
    const claim = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(claim.tasks[0].record).toMatchObject({ status: 'dead', deadReason: 'non_retryable' });
    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: claim.tasks[0].rev }])).toEqual({
      settled: 1,
      deleted: 0,
      kept: 0,
    });
    expect(await h.inspector.getTask(run.id)).toMatchObject({ status: 'dead' });
    await h.dlq.delete(run.id);
    expect(await redis.exists(hashKey(run.id))).toBe(0);
  });

  it('keeps the hash of a dead task deleted before its row was written, until the archiver has written it', async () => {
    const run = await claimOne();
    await h.consumer.fail(run, { action: 'dead', reason: 'max_retries', error: 'Error: no' });
    await h.dlq.delete(run.id);
    expect(await redis.zscore(keys().dead, run.id)).toBeNull();
    expect(await h.inspector.getTask(run.id)).toMatchObject({ status: 'dead' });
    // Out of the dead-letter queue: nothing to requeue or delete any more, and the answer says why.
    const deleted = { code: QueueErrorCode.WrongState, message: expect.stringMatching(/deleted from the dead-letter/) };
    await expect(h.dlq.requeue(run.id)).rejects.toMatchObject(deleted);
    await expect(h.dlq.delete(run.id)).rejects.toMatchObject(deleted);
    expect(await checkQueueInvariant(redis, h.prefix, queue, { resultsBackend: 'postgres' })).toEqual([]);
    const claim = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: claim.tasks[0].rev }])).toMatchObject({
      deleted: 1,
    });
    expect(await redis.exists(hashKey(run.id))).toBe(0);
  });

  it('purges and trims the dead-letter queue the same way (DLQ_MAX_SIZE)', async () => {
    await h.close(redis);
    await boot({ dlqMaxSize: 1 });
    const first = await claimOne();
    await h.consumer.fail(first, { action: 'dead', reason: 'max_retries', error: 'a' });
    // The DLQ is ordered by death time in ms: two deaths in one millisecond tie, and the trim may take
    // either. The second dies once Redis's clock has moved on, so "oldest" is the first.
    const firstDiedAt = Number(await redis.zscore(keys().dead, first.id));
    await waitFor(
      async () => {
        const [seconds, micros] = await redis.time();
        return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) > firstDiedAt;
      },
      { timeoutMs: 1000, intervalMs: 1, what: "Redis's clock past the first death" },
    );
    const second = await claimOne();
    await h.consumer.fail(second, { action: 'dead', reason: 'max_retries', error: 'b' });
    // The first was trimmed from the DLQ, but its row is pending: its hash stays, in archive only.
    expect(await redis.zrange(keys().dead, 0, -1)).toEqual([second.id]);
    expect(await redis.exists(hashKey(first.id))).toBe(1);
    expect(await h.dlq.purge(queue)).toBe(1);
    expect(await redis.exists(hashKey(second.id))).toBe(1);
    const claim = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(claim.tasks.map((t) => t.record.id).sort()).toEqual([first.id, second.id].sort());
    await archive.settle(
      queue,
      'written',
      claim.tasks.map((t) => ({ id: t.record.id, rev: t.rev })),
    );
    expect(await redis.exists(hashKey(first.id), hashKey(second.id))).toBe(0);
  });

  it('puts a requeued dead task back in archive, so its row goes; a revision that moved on is kept for the next claim', async () => {
    const run = await claimOne();
    await h.consumer.fail(run, { action: 'dead', reason: 'max_retries', error: 'x' });
    const dead = await archive.claim(queue, 10, 60_000, 1 << 20);
    await h.dlq.requeue(run.id);
    // Settling the dead revision after the requeue keeps the entry: its row must be reconciled.
    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: dead.tasks[0].rev }])).toEqual({
      settled: 0,
      deleted: 0,
      kept: 1,
    });
    const requeued = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(requeued.tasks).toEqual([
      expect.objectContaining({
        rev: dead.tasks[0].rev + 1,
        record: expect.objectContaining({ id: run.id, status: 'queued' }),
      }),
    ]);
    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: requeued.tasks[0].rev }])).toEqual({
      settled: 1,
      deleted: 0,
      kept: 0,
    });
    // It runs again and succeeds: archived once more, with a newer revision.
    const [again] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(again, '"second time"');
    const done = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(done.tasks[0]).toMatchObject({ rev: requeued.tasks[0].rev + 1, record: { status: 'succeeded' } });
    await archive.settle(queue, 'written', [{ id: run.id, rev: done.tasks[0].rev }]);
    expect(await redis.exists(hashKey(run.id))).toBe(0);
  });

  it('puts a retried task back in archive with a new revision, so its row goes; it keeps no TTL', async () => {
    const run = await claimOne();
    await h.consumer.ack(run, '"first"');
    const written = await archive.claim(queue, 10, 60_000, 1 << 20);
    await h.admin.retry(run.id);
    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: written.tasks[0].rev }])).toMatchObject({
      kept: 1,
    });
    const retried = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(retried.tasks).toEqual([
      expect.objectContaining({
        rev: written.tasks[0].rev + 1,
        record: expect.objectContaining({ status: 'queued', finishedAt: null }),
      }),
    ]);
    await archive.settle(queue, 'written', [{ id: run.id, rev: retried.tasks[0].rev }]);
    expect(await redis.ttl(hashKey(run.id))).toBe(-1);
    await h.consumer.ack((await h.consumer.claim(queue, 1)).tasks[0], '"second"');
    const done = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(done.tasks[0].record.attemptsHistory.map((a) => a.outcome)).toEqual(['succeeded', 'succeeded']);
    await archive.settle(queue, 'written', [{ id: run.id, rev: done.tasks[0].rev }]);
  });

  it('purges a requeued task whose row is still to be removed: only its revision stays, until that is settled', async () => {
    const run = await claimOne();
    await h.consumer.fail(run, { action: 'dead', reason: 'max_retries', error: 'x' });
    const dead = await archive.claim(queue, 10, 60_000, 1 << 20);
    await archive.settle(queue, 'written', [{ id: run.id, rev: dead.tasks[0].rev }]);
    await h.dlq.requeue(run.id);
    const unrelated = await h.producer.enqueue(task());
    expect(await h.admin.purge(queue, 'queued')).toBe(2);
    // Gone for every reader; the archiver still has a row to remove, with a newer revision.
    await expect(h.inspector.getTask(run.id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
    await expect(h.admin.retry(run.id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
    expect(await redis.hgetall(hashKey(run.id))).toEqual({ rev: String(dead.tasks[0].rev + 2) });
    expect(await redis.exists(hashKey(unrelated.id))).toBe(0);
    expect(await checkQueueInvariant(redis, h.prefix, queue, { resultsBackend: 'postgres' })).toEqual([]);
    const removal = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(removal.tasks).toEqual([expect.objectContaining({ rev: dead.tasks[0].rev + 2 })]);
    expect(removal.tasks[0].record.status).toBeUndefined();
    expect(await archive.settle(queue, 'written', [{ id: run.id, rev: removal.tasks[0].rev }])).toEqual({
      settled: 1,
      deleted: 1,
      kept: 0,
    });
    expect(await redis.exists(hashKey(run.id))).toBe(0);
  });

  it('archives a cancelled task, and counts archived tasks as still in the queue (forget refuses)', async () => {
    const { id } = await h.producer.enqueue(task());
    expect(await h.admin.cancel(id)).toBe('queued');
    expect(await redis.zcard(keys().cancelled)).toBe(0);
    expect(await redis.ttl(hashKey(id))).toBe(-1);
    await expect(h.admin.forget(queue)).rejects.toMatchObject({ code: QueueErrorCode.WrongState });
    const claim = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(claim.tasks[0].record).toMatchObject({ status: 'cancelled', cancelledAt: expect.any(Number) });
    await archive.settle(queue, 'written', [{ id, rev: claim.tasks[0].rev }]);
    await h.admin.forget(queue);
  });

  it('archives a task dead-lettered by the recoverer (lease_expired)', async () => {
    await h.close(redis);
    await boot({ leaseMs: 30, maxRecoveries: 0 });
    const run = await claimOne();
    const recovered = await waitFor(
      async () => {
        const found = await h.consumer.recoverExpired(queue, 0);
        return found.length ? found : undefined;
      },
      { what: 'the lease to expire' },
    );
    expect(recovered).toEqual([expect.objectContaining({ id: run.id, outcome: 'dead' })]);
    const claim = await archive.claim(queue, 10, 60_000, 1 << 20);
    expect(claim.tasks[0].record).toMatchObject({
      status: 'dead',
      deadReason: 'lease_expired',
      attemptsHistory: [expect.objectContaining({ outcome: 'lease_expired', worker: h.consumer.workerId })],
    });
    await archive.settle(queue, 'written', [{ id: run.id, rev: claim.tasks[0].rev }]);
  });

  it('claims at most about the byte budget of hashes, at least one', async () => {
    const runs: ClaimedTask[] = [];
    for (let i = 0; i < 3; i++) runs.push(await claimOne({ payload: 'x'.repeat(1000) }));
    for (const run of runs) await h.consumer.ack(run, '');
    const small = await archive.claim(queue, 10, 60_000, 1);
    expect(small.tasks).toHaveLength(1);
    const rest = await archive.claim(queue, 10, 60_000, 1500);
    expect(rest.tasks).toHaveLength(2);
    await archive.settle(
      queue,
      'written',
      [...small.tasks, ...rest.tasks].map((t) => ({ id: t.record.id, rev: t.rev })),
    );
  });

  it('claims no more than leaves the archive backlog under RESULTS_BUFFER_MAX, and says so', async () => {
    await h.close(redis);
    await boot({ resultsBufferMax: 3 });
    await h.producer.enqueueMany(Array.from({ length: 6 }, () => task()));
    const first = await h.consumer.claim(queue, 2);
    expect(first).toMatchObject({ backlogged: false });
    for (const run of first.tasks) await h.consumer.ack(run, '');
    // Two in the backlog: room for one more, whatever is asked.
    const second = await h.consumer.claim(queue, 4);
    expect(second).toMatchObject({ backlogged: true });
    expect(second.tasks).toHaveLength(1);
    await h.consumer.ack(second.tasks[0], '');
    expect(await h.consumer.claim(queue, 4)).toMatchObject({ backlogged: true, tasks: [] });
    // The archiver writes a batch: room again.
    const claim = await archive.claim(queue, 2, 60_000, 1 << 20);
    await archive.settle(
      queue,
      'written',
      claim.tasks.map((t) => ({ id: t.record.id, rev: t.rev })),
    );
    const third = await h.consumer.claim(queue, 4);
    expect(third.tasks).toHaveLength(2);
    expect(third.backlogged).toBe(true);
    for (const run of third.tasks) await h.consumer.ack(run, '');
    const rest = await archive.claim(queue, 10, 60_000, 1 << 20);
    await archive.settle(
      queue,
      'written',
      rest.tasks.map((t) => ({ id: t.record.id, rev: t.rev })),
    );
    // The redis backend has no bound (nothing waits for PostgreSQL).
    await h.close(redis);
    await boot({ resultsBackend: 'redis', resultsBufferMax: 1 });
    await h.producer.enqueueMany(Array.from({ length: 3 }, () => task()));
    const all = await h.consumer.claim(queue, 3);
    expect(all).toMatchObject({ backlogged: false });
    for (const run of all.tasks) await h.consumer.ack(run, '');
  });

  it('drops an entry whose hash is gone: there is nothing left to write', async () => {
    const run = await claimOne();
    await h.consumer.ack(run, '');
    await redis.del(hashKey(run.id));
    expect(await archive.claim(queue, 10, 60_000, 1 << 20)).toMatchObject({ dropped: 1, tasks: [] });
    expect(await redis.zcard(keys().archive)).toBe(0);
  });
});

describe('attempt history', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  const queue = 'q1';

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  afterEach(async () => {
    expect(await checkQueueInvariant(redis, h.prefix, queue, { resultsBackend: h.options.resultsBackend })).toEqual([]);
    await h.close(redis);
  });

  it.each(['redis', 'postgres'] as const)(
    'records every run with its start, end, worker, outcome and error (%s backend)',
    async (resultsBackend) => {
      h = await QueueHarness.boot({ resultsBackend, leaseMs: 40, maxRecoveries: 5 });
      const { id } = await h.producer.enqueue(newTask(queue, { maxRetries: 5 }));
      const claimNext = async () =>
        waitFor(
          async () => {
            await h.consumer.recoverExpired(queue, 0);
            return (await h.consumer.claim(queue, 1)).tasks[0];
          },
          { what: 'the task to be claimable' },
        );

      // 1: fails and is retried at once; 2: its lease expires; 3: released at shutdown; 4: in progress, then succeeds.
      const first = await claimNext();
      await h.consumer.fail(first, {
        action: 'retry',
        delayMs: 0,
        error: 'Error: flaky',
        detail: 'Error: flaky\n    at h (x.ts:1)',
      });
      await claimNext();
      const third = await claimNext();
      await h.consumer.release(third);
      const fourth = await claimNext();
      const running = await h.inspector.getTask(id);
      expect(running.attemptsHistory.map((a) => [a.attempt, a.outcome])).toEqual([
        [1, 'retried'],
        [2, 'lease_expired'],
        [2, 'released'],
        [2, null],
      ]);
      expect(running.attemptsHistory[3]).toMatchObject({ finishedAt: null, worker: h.consumer.workerId });
      await h.consumer.heartbeat(queue, [fourth]);
      await h.consumer.ack(fourth, '"done"');

      const done = await h.inspector.getTask(id);
      expect(done.attemptsHistory).toEqual([
        {
          attempt: 1,
          startedAt: expect.any(Number),
          finishedAt: expect.any(Number),
          worker: h.consumer.workerId,
          outcome: 'retried',
          error: 'Error: flaky\n    at h (x.ts:1)',
        },
        expect.objectContaining({ attempt: 2, outcome: 'lease_expired', worker: h.consumer.workerId }),
        expect.objectContaining({ attempt: 2, outcome: 'released', error: null }),
        {
          attempt: 2,
          startedAt: done.startedAt,
          finishedAt: done.finishedAt,
          worker: h.consumer.workerId,
          outcome: 'succeeded',
          error: null,
        },
      ]);
      for (const attempt of done.attemptsHistory) {
        expect(attempt.finishedAt!).toBeGreaterThanOrEqual(attempt.startedAt!);
      }
    },
  );

  it('keeps the last 20 runs that did not succeed, with each error truncated', async () => {
    h = await QueueHarness.boot({ resultsBackend: 'redis' });
    const { id } = await h.producer.enqueue(newTask(queue, { maxRetries: 30 }));
    for (let i = 1; i <= 25; i++) {
      const [run] = (await h.consumer.claim(queue, 1)).tasks;
      await h.consumer.fail(run, { action: 'retry', delayMs: 0, error: `Error: ${i}`, detail: `${i} `.repeat(3000) });
    }
    const { attemptsHistory } = await h.inspector.getTask(id);
    expect(attemptsHistory.map((a) => a.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
    expect(attemptsHistory[0].error!.length).toBeLessThan(2100);
    expect(attemptsHistory[0].error).toMatch(/^6 6 .*truncated\)$/);
    const [last] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.fail(last, { action: 'dead', reason: 'max_retries', error: 'Error: enough' });
    expect((await h.inspector.getTask(id)).attemptsHistory.at(-1)).toMatchObject({
      attempt: 26,
      outcome: 'dead',
      error: 'Error: enough',
    });
  });

  it('records a run cancelled while active', async () => {
    h = await QueueHarness.boot({ resultsBackend: 'redis' });
    const { id } = await h.producer.enqueue(newTask(queue));
    await h.consumer.claim(queue, 1);
    await h.admin.cancel(id);
    expect((await h.inspector.getTask(id)).attemptsHistory).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'cancelled', worker: h.consumer.workerId, error: null }),
    ]);
  });
});
