'use strict';
// The PostgreSQL result store on vs off (RESULTS_BACKEND=postgres vs redis), the same drain in
// alternating runs: 20k pre-filled echo tasks, the built worker at c=50, results retained (redis:
// RESULT_TTL_SECONDS 86400). Measured per run:
// - drain: first claim -> last ack (queued and active empty), as in scenarios/drain.js;
// - postgres only, drain to PostgreSQL: first claim -> every row committed and the archive index empty;
// - Redis bytes per finished task once the worker is idle (redis: the retained hashes and their index;
//   postgres: what is left after the archiver wrote them), and, postgres only, the Redis bytes per task
//   at the end of the drain, while pendingAtDrain of them still wait in the archive index.
const path = require('node:path');
const { Client } = require('pg');
const { runner } = require('node-pg-migrate');
const {
  DIST,
  ROOT,
  commCpuMs,
  freePort,
  procCpuMs,
  redisCpuMs,
  sleep,
  spawnNode,
  stopProcess,
  usedMemory,
} = require('../lib/util');
const { createProducer, echoTask, queueCounts } = require('../lib/ours');

const POLL_MS = 2;
const TIMEOUT_MS = 300_000;
const POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql) {
  const client = new Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A scratch database for the bench run, migrated as `npm run migrate` does; `drop()` when done. */
async function openDatabase() {
  const name = `taskq_bench_${process.pid}`;
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  await runner({
    databaseUrl: url.toString(),
    dir: path.join(ROOT, 'migrations'),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    log: () => undefined,
  });
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return {
    url: url.toString(),
    rows: async () => Number((await client.query('SELECT count(*) AS n FROM task_results')).rows[0].n),
    truncate: () => client.query('TRUNCATE task_results, task_revisions, task_counts'),
    drop: async () => {
      await client.end();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** One drain of `n` tasks with the given backend. */
async function resultsDrainOnce(backend, redis, db, { n, concurrency, env = {} }) {
  await redis.client.flushall();
  if (db) await db.truncate();
  const before = await usedMemory(redis.client);
  const producer = createProducer(redis.url, 'bench');
  for (let i = 0; i < n; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push(echoTask({ n: j }));
    await producer.enqueueMany(batch);
  }
  await producer.close();
  const counts = async () => {
    const c = await queueCounts(redis.client, 'bench', 'default');
    return [c.waiting, c.active, c.archive];
  };
  const worker = spawnNode(path.join(DIST, 'apps/worker/main.js'), {
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'bench',
      WORKER_QUEUES: 'default',
      WORKER_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'warn',
      RESULT_TTL_SECONDS: '86400',
      METRICS_PORT: String(await freePort()),
      RESULTS_BACKEND: backend,
      ...(db ? { DATABASE_URL: db.url } : {}),
      ...env,
    },
  });
  const begun = Date.now();
  let startAt = 0;
  let drainedAt = 0;
  let pendingAtDrain = 0;
  let bytesAtDrain = 0;
  let cpuAtStart;
  try {
    for (;;) {
      if (worker.exitCode !== null) throw new Error(`worker (${backend}) exited: ${worker.stderrTail()}`);
      if (Date.now() - begun > TIMEOUT_MS) throw new Error(`results drain (${backend}) timed out`);
      const [waiting, running, pending] = await counts();
      const now = performance.now();
      if (!startAt && waiting < n) {
        startAt = now;
        cpuAtStart = {
          worker: procCpuMs(worker.pid),
          redis: await redisCpuMs(redis.client),
          postgres: commCpuMs('postgres'),
        };
      }
      if (startAt && !drainedAt && waiting === 0 && running === 0) {
        drainedAt = now;
        pendingAtDrain = pending;
        bytesAtDrain = (await usedMemory(redis.client)) - before;
      }
      if (drainedAt && (!db || (pending === 0 && (await db.rows()) === n))) {
        const result = {
          tasksPerSec: n / ((drainedAt - startAt) / 1000),
          toStoreTasksPerSec: db ? n / ((now - startAt) / 1000) : null,
          pendingAtDrain,
          // Redis bytes per task still waiting for PostgreSQL (a pending task's hash and archive entry).
          redisBytesPerPending: db && pendingAtDrain ? bytesAtDrain / pendingAtDrain : null,
          // CPU per task from the first claim to the end (every row committed, for postgres): on a machine
          // of C cores, C s / (their sum) bounds the drain.
          cpuUsPerTask: {
            worker: ((procCpuMs(worker.pid) - cpuAtStart.worker) * 1000) / n,
            redis: (((await redisCpuMs(redis.client)) - cpuAtStart.redis) * 1000) / n,
            postgres: db ? ((commCpuMs('postgres') - cpuAtStart.postgres) * 1000) / n : 0,
          },
        };
        // Idle: let the last writes settle, then count what finished tasks still take in Redis.
        await sleep(500);
        result.redisBytesPerFinished = ((await usedMemory(redis.client)) - before) / n;
        return result;
      }
      await sleep(POLL_MS);
    }
  } finally {
    await stopProcess(worker);
  }
}

/** The server's version, e.g. 15.20. */
async function postgresVersion() {
  return (await admin('SHOW server_version')).rows[0].server_version.split(' ')[0];
}

module.exports = { openDatabase, resultsDrainOnce, postgresVersion };
