import { Test, TestingModule } from '@nestjs/testing';
import { register } from 'prom-client';
import { METRIC } from '@app/metrics';
import { NewTask, QueueAdmin, QueueProducer, queueKeys, QueueRegistry } from '@app/queue';
import {
  checkQueueInvariant,
  createTestRedis,
  deleteByPrefix,
  newTask,
  redisAppEnv,
  TcpProxy,
  TEST_POSTGRES_URL,
  TestDatabase,
  TestRedis,
  testRedisConnection,
  uniquePrefix,
  waitFor,
  withDatabase,
} from '@app/testing';
import { WorkerModule } from './worker.module';
import { RetentionSweeper } from '@app/worker';

const queue = 'default';

/**
 * The worker's write-behind in this process (the worker module as main.ts boots it), on a real Redis
 * and a real PostgreSQL reached through a TCP proxy that the tests cut to make PostgreSQL unreachable.
 */
describe('result archiver in process (RESULTS_BACKEND=postgres)', () => {
  let redis: TestRedis;
  let db: TestDatabase;
  let proxy: TcpProxy;
  let moduleRef: TestingModule | undefined;
  let prefix: string;
  let saved: NodeJS.ProcessEnv;

  beforeAll(async () => {
    redis = createTestRedis();
    db = await TestDatabase.create('archiver');
    const server = new URL(TEST_POSTGRES_URL);
    proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port || 5432) });
    saved = { ...process.env };
  });
  afterAll(async () => {
    await proxy.stop();
    await db.drop();
    await redis.quit();
  });
  beforeEach(async () => {
    await db.sql.query('TRUNCATE task_results, task_revisions, task_counts');
    await proxy.restore();
  });
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    expect(await checkQueueInvariant(redis, prefix, queue, { resultsBackend: 'postgres' })).toEqual([]);
    await deleteByPrefix(redis, prefix);
    register.clear();
    process.env = { ...saved };
  });

  async function startWorker(env: Record<string, string> = {}) {
    prefix = uniquePrefix('archiver');
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    Object.assign(process.env, {
      REDIS_URL: '',
      ...redisAppEnv(testRedisConnection()),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      RESULTS_BACKEND: 'postgres',
      DATABASE_URL: withDatabase(viaProxy.toString(), db.name),
      RESULTS_FLUSH_INTERVAL_MS: '50',
      WORKER_CONCURRENCY: '4',
      WORKER_IDLE_WAIT_MS: '100',
      SHUTDOWN_GRACE_MS: '200',
      RETRY_BACKOFF_BASE_MS: '10',
      RETRY_BACKOFF_MAX_MS: '20',
      // No thread-isolated type runs here: one thread is enough (from source, each compiles with ts-node).
      WORKER_THREADS: '1',
      ...env,
    });
    moduleRef = await Test.createTestingModule({
      imports: [WorkerModule.register({ demoTasks: true })],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    return moduleRef;
  }

  const producer = () => moduleRef!.get(QueueProducer);
  const submit = (n: number, over: Partial<NewTask> = {}) =>
    producer().enqueueMany(Array.from({ length: n }, (_, i) => newTask(queue, { payload: { i }, ...over })));
  const rowCount = async () => (await db.sql.query('SELECT count(*)::int AS n FROM task_results')).rows[0].n as number;
  const pending = () => redis.zcard(queueKeys(prefix, queue).archive);
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const values = (await register.getSingleMetric(name)?.get())?.values ?? [];
    return values
      .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
      .reduce((sum, v) => sum + v.value, 0);
  };

  it('writes every finished task once, drops the hashes it wrote, keeps dead tasks in the DLQ', async () => {
    await startWorker({ RESULTS_BATCH_SIZE: '25' });
    const ok = await submit(200, { type: 'echo' });
    const dead = await submit(10, { type: 'fail', payload: {}, maxRetries: 0 });
    await waitFor(async () => (await rowCount()) === 210 && (await pending()) === 0, {
      timeoutMs: 30_000,
      what: '210 rows and an empty archive index',
    });
    const rows = (await db.sql.query('SELECT id, status, result FROM task_results ORDER BY id')).rows;
    expect(rows.filter((r) => r.status === 'succeeded').map((r) => r.id)).toEqual(ok.map((t) => t.id).sort());
    expect(rows.filter((r) => r.status === 'dead').map((r) => r.id)).toEqual(dead.map((t) => t.id).sort());
    // The succeeded hashes are gone from Redis; the dead ones stay in the dead-letter queue.
    expect(await redis.exists(...ok.map((t) => `${queueKeys(prefix, queue).taskPrefix}${t.id}`))).toBe(0);
    expect(await redis.zcard(queueKeys(prefix, queue).dead)).toBe(10);
    expect(await metric(METRIC.resultsArchived, { queue })).toBe(210);
    expect(await metric(METRIC.resultsArchived, { queue, status: 'dead' })).toBe(10);
    const batches = (await register.getSingleMetric(METRIC.resultsBatchSize)!.get()).values as {
      metricName?: string;
      value: number;
    }[];
    const series = (name: string) => batches.find((v) => v.metricName === name)!.value;
    expect(series('results_batch_size_count')).toBeGreaterThanOrEqual(210 / 25);
    expect(series('results_batch_size_sum')).toBe(210);
  });

  it('keeps tasks running while PostgreSQL is unreachable, stops claiming at RESULTS_BUFFER_MAX, drains when it is back', async () => {
    const bufferMax = 30;
    await startWorker({ RESULTS_BUFFER_MAX: String(bufferMax) });
    await proxy.cut();
    const tasks = await submit(150, { type: 'echo' });
    // Tasks still run and finish; their records wait in Redis.
    await waitFor(
      async () =>
        (await metric(METRIC.resultsClaimsPaused, { queue })) === 1 &&
        (await redis.zcard(queueKeys(prefix, queue).active)) === 0,
      { timeoutMs: 20_000, what: 'the backlog to reach RESULTS_BUFFER_MAX, claims to pause and runs to settle' },
    );
    expect(await metric(METRIC.processed)).toBeGreaterThanOrEqual(bufferMax);
    expect(await rowCount()).toBe(0);
    expect(await metric(METRIC.resultsStoreErrors, { op: 'write' })).toBeGreaterThan(0);
    // At the bound: no new claims; the backlog exceeds the bound by at most what was in flight.
    const backlog = await pending();
    expect(backlog).toBeGreaterThanOrEqual(bufferMax);
    expect(backlog).toBeLessThanOrEqual(bufferMax + 4);
    const keys = queueKeys(prefix, queue);
    expect((await redis.zcard(keys.queued)) + (await redis.llen(keys.ready)) + backlog).toBe(150);
    expect(await metric(METRIC.resultsPending, { queue })).toBe(backlog);
    // A finished task is readable from Redis meanwhile.
    const waiting = (await redis.zrange(queueKeys(prefix, queue).archive, 0, 0))[0];
    expect(await redis.hget(`${queueKeys(prefix, queue).taskPrefix}${waiting}`, 'status')).toBe('succeeded');

    await proxy.restore();
    await waitFor(async () => (await rowCount()) === 150 && (await pending()) === 0, {
      timeoutMs: 30_000,
      what: 'every task written once PostgreSQL is back',
    });
    const ids = (await db.sql.query('SELECT id FROM task_results ORDER BY id')).rows.map((r) => r.id);
    expect(ids).toEqual(tasks.map((t) => t.id).sort());
    expect(await metric(METRIC.resultsClaimsPaused, { queue })).toBe(0);
  });

  it("drops a forgotten queue's results_pending and results_claims_paused series", async () => {
    const app = await startWorker();
    const admin = app.get(QueueAdmin);
    // Controls apply to a queue that exists: a worker serving it, or a submit, would have listed it.
    await app.get(QueueRegistry).register(['gone']);
    await admin.pause('gone');
    // How many series each gauge has for a queue.
    const seriesOf = async (name: string) => {
      const counts: number[] = [];
      for (const metricName of [METRIC.resultsPending, METRIC.resultsClaimsPaused]) {
        const values = (await register.getSingleMetric(metricName)?.get())?.values ?? [];
        counts.push(values.filter((v) => v.labels.queue === name).length);
      }
      return counts;
    };
    await waitFor(async () => (await seriesOf('gone')).every((n) => n === 1), {
      what: 'results_pending and results_claims_paused of queue "gone"',
    });
    await admin.forget('gone');
    await waitFor(async () => (await seriesOf('gone')).every((n) => n === 0), {
      what: 'the series of the forgotten queue "gone" to go',
    });
    expect(await seriesOf(queue)).toEqual([1, 1]);
  }, 20_000);

  it('sweeps rows past RESULTS_RETENTION_DAYS, and only those', async () => {
    const app = await startWorker({ RESULTS_RETENTION_DAYS: '7' });
    await submit(20, { type: 'echo' });
    await waitFor(async () => (await rowCount()) === 20 && (await pending()) === 0, { what: '20 rows' });
    await db.sql.query(
      `UPDATE task_results SET finished_at = now() - interval '8 days'
       WHERE id IN (SELECT id FROM task_results ORDER BY id LIMIT 5)`,
    );
    expect(await app.get(RetentionSweeper).runOnce()).toBe(5);
    expect(await rowCount()).toBe(15);
    const oldest = (await db.sql.query('SELECT min(finished_at) AS t FROM task_results')).rows[0].t as Date;
    expect(Date.now() - oldest.getTime()).toBeLessThan(86_400_000);
    expect(await metric(METRIC.resultsRetentionDeleted)).toBe(5);
  });
});
