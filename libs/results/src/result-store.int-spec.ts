import { Test, TestingModule } from '@nestjs/testing';
import { ArchivedTask, QueueArchive, queueKeys } from '@app/queue';
import {
  checkQueueInvariant,
  createTestRedis,
  newTask,
  QueueHarness,
  TestDatabase,
  TestRedis,
  waitFor,
} from '@app/testing';
import { ResultsModule } from './results.module';
import { ResultStore } from './result-store';
import { TaskHistory } from './task-history';

/**
 * The write side of the result store on a real PostgreSQL (a database of this file's own) fed by a real
 * Redis archive: what a batch writes, that a replay changes nothing, that an older revision never
 * overwrites a newer one, that a requeued task's row goes, and retention.
 */
describe('ResultStore on a real PostgreSQL', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let moduleRef: TestingModule;
  let store: ResultStore;
  let history: TaskHistory;
  let h: QueueHarness;
  let archive: QueueArchive;
  const queue = 'rs';

  beforeAll(async () => {
    db = await TestDatabase.create('result_store');
    redis = createTestRedis();
    moduleRef = await Test.createTestingModule({
      imports: [
        ResultsModule.forRoot({
          backend: 'postgres',
          databaseUrl: db.url,
          poolMax: 4,
          statementTimeoutMs: 5000,
          applicationName: 'int-test',
        }),
      ],
    }).compile();
    await moduleRef.init();
    store = moduleRef.get(ResultStore);
    history = moduleRef.get(TaskHistory);
  });
  afterAll(async () => {
    await moduleRef.close();
    await db.drop();
    await redis.quit();
  });
  beforeEach(async () => {
    h = await QueueHarness.boot({ resultsBackend: 'postgres' });
    archive = h.moduleRef.get(QueueArchive);
    await db.sql.query('TRUNCATE task_results, task_revisions, task_counts');
  });
  afterEach(async () => {
    expect(await checkQueueInvariant(redis, h.prefix, queue, { resultsBackend: 'postgres' })).toEqual([]);
    await h.close(redis);
  });

  /** Runs `n` tasks to an end: ok → succeeded with a result, dead → dead-lettered. */
  async function finish(outcomes: ('ok' | 'dead')[]): Promise<string[]> {
    const enqueued = await h.producer.enqueueMany(outcomes.map((_, i) => newTask(queue, { payload: { i } })));
    const { tasks } = await h.consumer.claim(queue, outcomes.length);
    const byId = new Map(tasks.map((t) => [t.id, t]));
    for (const [i, { id }] of enqueued.entries()) {
      const run = byId.get(id)!;
      if (outcomes[i] === 'ok') await h.consumer.ack(run, JSON.stringify({ echoed: i }));
      else await h.consumer.fail(run, { action: 'dead', reason: 'non_retryable', error: `Error: ${i}` });
    }
    return enqueued.map((t) => t.id);
  }

  const claimAll = async (): Promise<ArchivedTask[]> => (await archive.claim(queue, 1000, 60_000, 1 << 24)).tasks;
  const settleAll = (tasks: ArchivedTask[], outcome: 'written' | 'failed' = 'written') =>
    archive.settle(
      queue,
      outcome,
      tasks.map((t) => ({ id: t.record.id, rev: t.rev })),
    );
  /** Claims what the archive holds, writes it and settles it: one archiver's whole pass. */
  const archiveAll = async () => {
    const tasks = await claimAll();
    await store.write(tasks);
    await settleAll(tasks);
    return tasks;
  };
  const rows = async () =>
    (await db.sql.query('SELECT id, status, rev, result, archived_at FROM task_results ORDER BY id')).rows;

  it('writes a batch in one transaction; the hashes leave Redis only once it is settled', async () => {
    const ids = await finish(['ok', 'ok', 'dead']);
    const batch = await claimAll();
    expect(await store.write(batch)).toEqual({ written: 3, replayed: 0, removed: 0 });
    // Committed, not yet settled: the task is in both places, readable from either.
    expect(await h.inspector.getTask(ids[0])).toMatchObject({ status: 'succeeded' });
    expect(await history.get(ids[0])).toMatchObject({
      id: ids[0],
      status: 'succeeded',
      payload: { i: 0 },
      result: { echoed: 0 },
      attempts: 1,
      attemptsHistory: [expect.objectContaining({ outcome: 'succeeded', worker: h.consumer.workerId })],
    });
    expect(await history.get(ids[2])).toMatchObject({
      status: 'dead',
      deadReason: 'non_retryable',
      lastError: 'Error: 2',
      result: null,
      attemptsHistory: [expect.objectContaining({ outcome: 'dead', error: 'Error: 2' })],
    });
    await settleAll(batch, 'written');
    await expect(h.inspector.getTask(ids[0])).rejects.toThrow(/does not exist/);
    // The dead task stays requeueable from the dead-letter queue.
    expect(await h.inspector.getTask(ids[2])).toMatchObject({ status: 'dead' });
  });

  it("keeps a task's own submit options (unique_key, backoff): the history shows them as Redis did", async () => {
    const [keyed, plain] = await h.producer.enqueueMany([
      newTask(queue, { uniqueForMs: 60_000, uniqueKey: 'invoice-1234', backoff: { delaysMs: [1000, 5000] } }),
      newTask(queue, { payload: 'plain' }),
    ]);
    for (const run of (await h.consumer.claim(queue, 2)).tasks) await h.consumer.ack(run, 'null');
    const fromRedis = await h.inspector.getTask(keyed.id);
    expect(fromRedis).toMatchObject({ uniqueKey: 'invoice-1234', backoff: { delaysMs: [1000, 5000] } });
    const batch = await claimAll();
    await store.write(batch);
    await archive.settle(
      queue,
      'written',
      batch.map((t) => ({ id: t.record.id, rev: t.rev })),
    );
    expect(await history.get(keyed.id)).toMatchObject({
      uniqueKey: 'invoice-1234',
      backoff: { delaysMs: [1000, 5000] },
    });
    expect(await history.get(plain.id)).toMatchObject({ uniqueKey: null, backoff: null });
  });

  it('replays a batch without a change a reader can see (same revision: no row touched)', async () => {
    await finish(['ok', 'ok', 'dead', 'ok']);
    const batch = await claimAll();
    expect(await store.write(batch)).toMatchObject({ written: 4, replayed: 0 });
    const before = await rows();
    // The archiver died after COMMIT, before settling: another one writes the same batch again.
    expect(await store.write(batch)).toEqual({ written: 0, replayed: 4, removed: 0 });
    expect(await rows()).toEqual(before);
    // Twice at once (two archivers, one lease run out) ends the same.
    await Promise.all([store.write(batch), store.write(batch)]);
    expect(await rows()).toEqual(before);
    expect(
      (await db.sql.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM task_results')).rows,
    ).toEqual([{ n: 4, d: 4 }]);
    await settleAll(batch, 'written');
  });

  it('never lets an older revision overwrite a newer one, and removes the row of a requeued task', async () => {
    const [id] = await finish(['dead']);
    const dead = await claimAll();
    await store.write(dead);
    await archive.settle(queue, 'written', [{ id, rev: dead[0].rev }]);

    await h.dlq.requeue(id);
    const requeued = await claimAll();
    expect(requeued[0].record.status).toBe('queued');
    expect(await store.write(requeued)).toEqual({ written: 0, replayed: 0, removed: 1 });
    expect(await history.get(id)).toBeNull();
    // A stale writer of the dead revision, late: its row would be visible as dead again until the task
    // finishes; the newer revision (it succeeds now) overwrites it, and the stale one never wins.
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(run, '"second run"');
    const done = await claimAll();
    expect(done[0]).toMatchObject({ rev: dead[0].rev + 2, record: { status: 'succeeded' } });
    await store.write(done);
    expect(await store.write(dead)).toEqual({ written: 0, replayed: 1, removed: 0 });
    expect(await history.get(id)).toMatchObject({
      status: 'succeeded',
      result: 'second run',
      attemptsHistory: [
        expect.objectContaining({ attempt: 1, outcome: 'dead' }),
        expect.objectContaining({ attempt: 1, outcome: 'succeeded' }),
      ],
    });
    await archive.settle(queue, 'written', [{ id, rev: done[0].rev }]);
  });

  /** A write held inside its transaction (after its statements, before COMMIT) until `release()`. */
  function heldWrite(batch: ArchivedTask[]) {
    let release!: () => void;
    let reached!: () => void;
    const atCommit = new Promise<void>((resolve) => (reached = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const done = store.write(batch, {
      mayCommit: async () => {
        reached();
        await gate;
        return true;
      },
    });
    return { done, atCommit, release };
  }

  /** True once some session of the test database waits for a lock (the second writer, on the first's row). */
  const someoneWaitsForALock = async () =>
    (
      await db.sql.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )
    ).rows[0].n > 0;

  it('never leaves a dead row for a requeued task whose death was being written when the requeue was archived', async () => {
    // The race as it happens: archiver A claims the dead task and is inside its transaction; the task is
    // requeued, which makes it due at once; archiver B claims it and removes the row, which A has not
    // committed yet; then A commits.
    const [id] = await finish(['dead']);
    const a = await claimAll();
    const first = heldWrite(a);
    await first.atCommit;
    await h.dlq.requeue(id);
    const b = await claimAll();
    expect(b[0]).toMatchObject({ rev: a[0].rev + 1, record: { status: 'queued' } });
    let bDone = false;
    const second = store.write(b).then((outcome) => {
      bDone = true;
      return outcome;
    });
    // B either finishes on its own (it cannot see A's row) or waits for A's lock: either way, A commits next.
    await waitFor(async () => bDone || (await someoneWaitsForALock()), { what: 'the second write to run or wait' });
    first.release();
    const [outcomeA, outcomeB] = await Promise.all([first.done, second]);
    await archive.settle(queue, 'written', [{ id, rev: a[0].rev }]);
    await archive.settle(queue, 'written', [{ id, rev: b[0].rev }]);
    // The task lives in Redis again: the history has no row for it, and lists no dead task.
    expect(await history.get(id)).toBeNull();
    expect((await history.list({ status: 'dead', limit: 10 })).tasks).toEqual([]);
    // A's row was committed, then B (which waited for it) removed it.
    expect([outcomeA.written, outcomeB.removed]).toEqual([1, 1]);
    expect(await h.inspector.getTask(id)).toMatchObject({ status: 'queued' });
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(run, '');
    await archiveAll();
    expect(await history.get(id)).toMatchObject({ status: 'succeeded' });
  });

  it('never lets a slow writer of a dead revision commit after the removal of its newer revision', async () => {
    const [id] = await finish(['dead']);
    const a = await claimAll();
    await h.dlq.requeue(id);
    const b = await claimAll();
    // B removes (nothing yet) and commits first; A, slow but within its lease, writes the dead revision.
    expect(await store.write(b)).toMatchObject({ removed: 0 });
    expect(await store.write(a)).toEqual({ written: 0, replayed: 1, removed: 0 });
    expect(await history.get(id)).toBeNull();
    await archive.settle(queue, 'written', [{ id, rev: b[0].rev }]);
    await archive.settle(queue, 'written', [{ id, rev: a[0].rev }]);
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(run, '');
    const done = await claimAll();
    await store.write(done);
    await archive.settle(queue, 'written', [{ id, rev: done[0].rev }]);
  });

  it('brings a finished task back from its row for a retry; two retries at once bring it back once', async () => {
    const [id] = await finish(['ok']);
    const batch = await claimAll();
    await store.write(batch);
    await archive.settle(queue, 'written', [{ id, rev: batch[0].rev }]);
    await expect(h.inspector.getTask(id)).rejects.toMatchObject({ code: 'not_found' });

    const tries = await Promise.all([0, 1].map(() => store.restore(id, (task) => h.admin.restore(task))));
    // One restored it; the other found no row left once it had the lock.
    expect(tries.sort()).toEqual([false, true]);
    expect(await history.get(id)).toBeNull();
    expect(await h.inspector.getTask(id)).toMatchObject({
      status: 'queued',
      attempts: 0,
      payload: { i: 0 },
      result: null,
      attemptsHistory: [expect.objectContaining({ attempt: 1, outcome: 'succeeded' })],
    });
    // The revision it came back with is newer than the row's: a late replay of the old batch changes nothing.
    expect(await store.write(batch)).toMatchObject({ written: 0, replayed: 1 });
    expect(await history.get(id)).toBeNull();
    const removal = await claimAll();
    expect(removal[0].rev).toBeGreaterThan(batch[0].rev);
    await store.write(removal);
    await archive.settle(queue, 'written', [{ id, rev: removal[0].rev }]);
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    await h.consumer.ack(run, '"again"');
    const done = await claimAll();
    await store.write(done);
    await archive.settle(queue, 'written', [{ id, rev: done[0].rev }]);
    expect(await history.get(id)).toMatchObject({
      status: 'succeeded',
      result: 'again',
      attemptsHistory: [
        expect.objectContaining({ outcome: 'succeeded' }),
        expect.objectContaining({ outcome: 'succeeded' }),
      ],
    });
    expect(await store.restore(`${queue}.00000000-0000-0000-0000-000000000000`, () => Promise.resolve(true))).toBe(
      false,
    );
  });

  it('lists its queue again when a task is brought back from its row after the queue was forgotten', async () => {
    const [id] = await finish(['ok']);
    const batch = await claimAll();
    await store.write(batch);
    await archive.settle(queue, 'written', [{ id, rev: batch[0].rev }]);
    await h.admin.forget(queue);
    expect(await archive.queues()).not.toContain(queue);

    expect(await store.restore(id, (task) => h.admin.restore(task))).toBe(true);
    // Registered and marked again, as a submit would: listed, and the task in it.
    expect(await archive.queues()).toContain(queue);
    expect(await h.inspector.getTask(id)).toMatchObject({ status: 'queued' });
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    expect(run.id).toBe(id);
    await h.consumer.ack(run, '');
    await archiveAll();
  });

  it('gives a unique task brought back from its row its lock again, or refuses naming the task holding it', async () => {
    const unique = newTask(queue, {
      payload: 'once',
      uniqueForMs: 60_000,
      uniqueKey: 'order-9',
      backoff: { delaysMs: [5, 10] },
    });
    const { id } = await h.producer.enqueue(unique);
    await h.consumer.ack((await h.consumer.claim(queue, 1)).tasks[0], '');
    const batch = await claimAll();
    await store.write(batch);
    await archive.settle(queue, 'written', [{ id, rev: batch[0].rev }]);
    expect((await db.sql.query('SELECT unique_for_ms FROM task_results WHERE id = $1', [id])).rows).toEqual([
      { unique_for_ms: 60_000 },
    ]);
    const holder = await h.producer.enqueue(unique);
    await expect(store.restore(id, (task) => h.admin.restore(task))).rejects.toMatchObject({
      code: 'conflict',
      existingId: holder.id,
    });
    // Refused: the row stays, nothing came back.
    expect(await history.get(id)).toMatchObject({ status: 'succeeded' });
    await expect(h.inspector.getTask(id)).rejects.toMatchObject({ code: 'not_found' });
    await h.consumer.ack((await h.consumer.claim(queue, 1)).tasks[0], '');
    expect(await store.restore(id, (task) => h.admin.restore(task))).toBe(true);
    // Back with its own options: the caller's unique key and its backoff.
    expect(await h.inspector.getTask(id)).toMatchObject({
      status: 'queued',
      uniqueKey: 'order-9',
      backoff: { delaysMs: [5, 10] },
    });
    await expect(h.producer.enqueue(unique)).rejects.toMatchObject({ code: 'conflict', existingId: id });
    for (const run of (await h.consumer.claim(queue, 10)).tasks) await h.consumer.ack(run, '');
    await archiveAll();
  });

  it('counts finished rows per queue and status through every change, retention and the folding included', async () => {
    const counts = async () => (await history.finishedCounts([queue, 'other'])).get(queue);
    const ids = await finish(['ok', 'ok', 'dead', 'ok']);
    const batch = await claimAll();
    await store.write(batch);
    expect(await counts()).toEqual({ succeeded: 3, dead: 1, cancelled: 0 });
    // A replay changes nothing; a requeue's removal and a retry's restore take rows out.
    await store.write(batch);
    await settleAll(batch, 'written');
    await h.dlq.requeue(ids[2]);
    await store.restore(ids[0], (task) => h.admin.restore(task));
    await store.write(await claimAll());
    expect(await counts()).toEqual({ succeeded: 2, dead: 0, cancelled: 0 });
    await store.compactCounts();
    expect(await counts()).toEqual({ succeeded: 2, dead: 0, cancelled: 0 });
    expect((await db.sql.query('SELECT count(*)::int AS n FROM task_counts')).rows[0].n).toBe(1);
    expect((await history.finishedCounts(['other'])).get('other')).toEqual({ succeeded: 0, dead: 0, cancelled: 0 });
    // Retention deletes rows: the counts follow.
    expect(await store.deleteFinishedBefore(Date.now() + 60_000, 1000)).toBe(2);
    expect(await counts()).toEqual({ succeeded: 0, dead: 0, cancelled: 0 });
    for (const run of (await h.consumer.claim(queue, 10)).tasks) await h.consumer.ack(run, '');
    await archiveAll();
    expect(await counts()).toEqual({ succeeded: 2, dead: 0, cancelled: 0 });
  });

  it('prunes revision rows only once they are older than it keeps them', async () => {
    const ids = await finish(['ok', 'dead']);
    const batch = await claimAll();
    await store.write(batch);
    await settleAll(batch, 'written');
    expect(await store.pruneRevisions(1000)).toBe(0);
    await db.sql.query(`UPDATE task_revisions SET written_at = now() - interval '2 hours' WHERE id = $1`, [ids[0]]);
    expect(await store.pruneRevisions(1000)).toBe(1);
    expect((await db.sql.query('SELECT id FROM task_revisions')).rows).toEqual([{ id: ids[1] }]);
  });

  it('rolls a batch back when the archiver may no longer commit (its lease ran out)', async () => {
    await finish(['ok', 'ok']);
    const batch = await claimAll();
    await expect(store.write(batch, { mayCommit: () => false })).rejects.toMatchObject({ code: 'failed' });
    expect(await rows()).toEqual([]);
    await settleAll(batch, 'failed');
    const again = await claimAll();
    expect(await store.write(again)).toMatchObject({ written: 2 });
    await settleAll(again, 'written');
  });

  it('keeps payloads byte for byte, and stores what PostgreSQL text refuses (NUL, lone surrogates) replaced', async () => {
    const { id } = await h.producer.enqueue(newTask(queue, { payload: { n: 1 } }));
    const [run] = (await h.consumer.claim(queue, 1)).tasks;
    // Stored as Redis holds it, even a number JavaScript cannot hold exactly.
    await redis.hset(`${queueKeys(h.prefix, queue).taskPrefix}${id}`, 'payload', '{"n":18446744073709551615}');
    await h.consumer.fail(run, { action: 'dead', reason: 'non_retryable', error: 'Error: a\u0000b \ud800 c' });
    const batch = await claimAll();
    await store.write(batch);
    const row = (await db.sql.query('SELECT payload, last_error FROM task_results WHERE id = $1', [id])).rows[0];
    expect(row).toEqual({ payload: '{"n":18446744073709551615}', last_error: 'Error: a\ufffdb \ufffd c' });
    await archive.settle(queue, 'written', [{ id, rev: batch[0].rev }]);
  });

  it('retention deletes only rows finished before the cutoff, in batches', async () => {
    await db.sql.query(`
      INSERT INTO task_results (id, queue, task_type, status, priority, attempts, max_retries, timeout_ms,
        recoveries, payload, created_at, finished_at, rev)
      SELECT 'rs.' || lpad(to_hex(n), 8, '0') || '-0000-4000-8000-000000000000', 'rs', 'echo', 'succeeded', 0, 1, 3,
        1000, 0, 'null', now() - make_interval(days => n % 20), now() - make_interval(days => n % 20), 1
      FROM generate_series(1, 2000) AS n`);
    const cutoff = Date.now() - 10 * 86_400_000;
    const old = (
      await db.sql.query('SELECT count(*)::int AS n FROM task_results WHERE finished_at < $1', [new Date(cutoff)])
    ).rows[0].n;
    expect(old).toBeGreaterThan(0);
    expect(await store.deleteFinishedBefore(cutoff, 300)).toBe(old);
    const left = await db.sql.query('SELECT count(*)::int AS n, min(finished_at) AS oldest FROM task_results');
    expect(left.rows[0].n).toBe(2000 - old);
    expect(left.rows[0].oldest.getTime()).toBeGreaterThanOrEqual(cutoff);
    expect(await store.deleteFinishedBefore(cutoff, 300)).toBe(0);
  });
});
