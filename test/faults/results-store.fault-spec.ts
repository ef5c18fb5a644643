import { queueKeys } from '@app/queue';
import { AppProcess, AppStack, http, OwnPostgres, scanKeys, TEST_REDIS_URL, TestDatabase, waitFor } from '@app/testing';

jest.setTimeout(300_000);

/**
 * Faults against the PostgreSQL result store (RESULTS_BACKEND=postgres), with the built api and
 * workers as real processes and the shared Redis (a prefix of their own): workers killed mid-flush,
 * and PostgreSQL stopped under load. After each, every accepted task is in task_results exactly once,
 * with its result, and nothing it wrote is left in Redis.
 */
const queue = 'default';
const summaries: string[] = [];

afterAll(() => {
  // The counts of each fault, for the record (the report quotes them).
  console.log(`result store faults:\n${summaries.map((s) => `  - ${s}`).join('\n')}`);
});

/** Submits `n` echo tasks in batches of 1000; their ids, in order. */
async function submitEchoes(stack: AppStack, n: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const tasks = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
      task_type: 'echo',
      payload: { tag, n: i + j },
    }));
    const res = await http('POST', `${stack.api.url}/submit/batch`, { tasks });
    if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
    ids.push(...res.body.task_ids);
  }
  return ids;
}

/** task_results against the accepted ids: each exactly once, succeeded, its result its payload. */
async function expectEachOnce(db: TestDatabase, ids: string[], tag: string) {
  const { rows } = await db.sql.query<{ id: string; status: string; result: string; payload: string }>(
    'SELECT id, status, result, payload FROM task_results',
  );
  const byId = new Map<string, number>();
  for (const row of rows) byId.set(row.id, (byId.get(row.id) ?? 0) + 1);
  const missing = ids.filter((id) => !byId.has(id));
  const twice = [...byId].filter(([, n]) => n > 1).map(([id]) => id);
  const accepted = new Set(ids);
  const extra = rows.filter((r) => !accepted.has(r.id)).map((r) => r.id);
  const wrong = rows.filter((r) => r.status !== 'succeeded' || r.result !== r.payload || !r.payload.includes(tag));
  expect({ rows: rows.length, missing, twice, extra, wrong: wrong.map((r) => r.id) }).toEqual({
    rows: ids.length,
    missing: [],
    twice: [],
    extra: [],
    wrong: [],
  });
}

/** Nothing the archivers wrote is left in Redis: no archive entry, no task hash. */
async function expectRedisDrained(stack: AppStack) {
  expect(await stack.redis.zcard(queueKeys(stack.prefix, queue).archive)).toBe(0);
  expect(await scanKeys(stack.redis, `${queueKeys(stack.prefix, queue).taskPrefix}*`)).toEqual([]);
  expect(await stack.invariantAll({ requireFinished: true })).toEqual([]);
}

describe('result store: kill -9 of every worker while archivers hold claimed batches', () => {
  let db: TestDatabase;
  let stack: AppStack;

  beforeAll(async () => {
    db = await TestDatabase.create('fault_kill');
    stack = new AppStack(TEST_REDIS_URL, {
      label: 'fault-results',
      deleteKeysOnStop: true,
      env: {
        RESULTS_BACKEND: 'postgres',
        DATABASE_URL: db.url,
        RESULTS_BATCH_SIZE: '200',
        RESULTS_FLUSH_INTERVAL_MS: '50',
        RESULTS_LEASE_MS: '3000',
        TASK_LEASE_MS: '2000',
        REDIS_COMMAND_TIMEOUT_MS: '1000',
        RECOVERY_INTERVAL_MS: '500',
        WORKER_CONCURRENCY: '20',
        LOG_LEVEL: 'warn',
      },
    });
    await stack.startApi();
  });
  afterAll(async () => {
    await stack.stop();
    await db.drop();
  });

  it('writes each of 10,000 tasks exactly once', async () => {
    const N = 10_000;
    const KILLS = 4;
    const workers = async () => {
      for (let i = 0; i < 3; i++) await stack.startWorker();
    };
    await workers();
    const ids: string[] = [];
    const archive = queueKeys(stack.prefix, queue).archive;
    let leasedAtKills = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      ids.push(...(await submitEchoes(stack, N / KILLS, 'kill')));
      // Mid-flush: wait until archivers hold claimed batches (archive entries leased into the future),
      // then SIGKILL every worker at once, so the holders die between claim, commit and settle.
      const leased = await waitFor(
        async () => {
          const [seconds] = await stack.redis.time();
          const count = await stack.redis.zcount(archive, `(${Number(seconds) * 1000 + 500}`, '+inf');
          return count > 0 ? count : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 5, what: `archive entries claimed by an archiver (kill ${kill + 1})` },
      );
      leasedAtKills += leased;
      const live = stack.workers.filter((w) => w.running);
      await Promise.all(live.map((w: AppProcess) => w.stop('SIGKILL')));
      await workers();
    }
    const rows = async () => (await db.sql.query('SELECT count(*)::int AS n FROM task_results')).rows[0].n as number;
    await waitFor(async () => (await rows()) === N && (await stack.redis.zcard(archive)) === 0, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `all ${N} rows written and the archive index empty`,
    });
    await expectEachOnce(db, ids, 'kill');
    await expectRedisDrained(stack);
    summaries.push(
      `kill -9: ${N} tasks, ${KILLS} kills of all 3 workers with ${leasedAtKills} archive entries claimed at the kills; ` +
        `${await rows()} rows, each task exactly once`,
    );
  });
});

describe('result store: PostgreSQL stopped for 10 s under load', () => {
  let pg: OwnPostgres;
  let db: TestDatabase;
  let stack: AppStack;

  beforeAll(async () => {
    pg = await OwnPostgres.create();
    await pg.start();
    db = await TestDatabase.create('fault_outage', { serverUrl: pg.url });
    stack = new AppStack(TEST_REDIS_URL, {
      label: 'fault-results',
      deleteKeysOnStop: true,
      env: {
        RESULTS_BACKEND: 'postgres',
        DATABASE_URL: db.url,
        RESULTS_FLUSH_INTERVAL_MS: '100',
        RESULTS_BUFFER_MAX: '100000',
        WORKER_CONCURRENCY: '10',
        LOG_LEVEL: 'warn',
      },
    });
    await stack.startApi();
    await stack.startWorker();
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    if (!pg.running) await pg.start().catch(() => undefined);
    await db.drop().catch(() => undefined);
    await pg.destroy();
  });

  it('keeps running and finishing tasks, buffers them in Redis, and writes each once when it is back', async () => {
    const OUTAGE_MS = 10_000;
    const archive = queueKeys(stack.prefix, queue).archive;
    const ids: string[] = [];
    // Load: 100 tasks every 100 ms until told to stop.
    let loading = true;
    const load = (async () => {
      for (let wave = 0; loading; wave++) {
        ids.push(...(await submitEchoes(stack, 100, 'outage')));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await waitFor(async () => ids.length >= 1000, { timeoutMs: 30_000, what: 'load to run' });
      await pg.stop('immediate');
      const down = Date.now();
      const acceptedBefore = ids.length;
      const pendingAtStop = await stack.redis.zcard(archive);
      // The outage is the fault itself, held for OUTAGE_MS; meanwhile tasks keep finishing into Redis.
      let finishedDuring = 0;
      let maxPending = 0;
      let answeredFromRedis = 0;
      while (Date.now() - down < OUTAGE_MS) {
        const pending = await stack.redis.zcard(archive);
        maxPending = Math.max(maxPending, pending);
        const newest = (await stack.redis.zrevrange(archive, 0, 0))[0];
        if (newest && (await http('GET', `${stack.api.url}/tasks/${newest}`)).status === 200) answeredFromRedis++;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      finishedDuring = (await stack.redis.zcard(archive)) - pendingAtStop;
      expect(finishedDuring).toBeGreaterThan(0);
      expect(answeredFromRedis).toBeGreaterThan(0);
      await pg.start();
      const upAfterMs = Date.now() - down;
      loading = false;
      await load;
      await waitFor(
        async () => {
          const rows = (await db.sql.query('SELECT count(*)::int AS n FROM task_results')).rows[0].n as number;
          return rows === ids.length && (await stack.redis.zcard(archive)) === 0;
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'the Redis buffer to drain into PostgreSQL' },
      );
      await expectEachOnce(db, ids, 'outage');
      await expectRedisDrained(stack);
      summaries.push(
        `PostgreSQL stopped (immediate) for ${(upAfterMs / 1000).toFixed(1)} s under load: ${ids.length} accepted ` +
          `(${acceptedBefore} before the stop), ${finishedDuring}+ finished into Redis during the outage, ` +
          `peak backlog ${maxPending}, drained after; ${ids.length} rows, each task exactly once`,
      );
    } finally {
      loading = false;
      await load.catch(() => undefined);
    }
  });
});
