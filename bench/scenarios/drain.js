'use strict';
// Scenario 1 (with 5 and 6 measured on the same runs): a worker process drains N pre-filled no-op
// tasks. Throughput is first start -> last completion, both seen by polling counts in Redis.
const path = require('node:path');
const { Queue } = require('bullmq');
const IORedis = require('ioredis');
const {
  DIST,
  freePort,
  procCpuMs,
  procPeakRss,
  redisCpuMs,
  sleep,
  spawnNode,
  stopProcess,
  usedMemory,
} = require('../lib/util');
const { createProducer, echoTask, queueCounts } = require('../lib/ours');

const POLL_MS = 2;
const TIMEOUT_MS = 180_000;

/** Fills the queue, returns Redis bytes per waiting task. */
async function prefill(system, redis, n) {
  const before = await usedMemory(redis.client);
  if (system === 'ours') {
    const producer = createProducer(redis.url, 'bench');
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) batch.push(echoTask({ n: j }));
      await producer.enqueueMany(batch);
    }
    await producer.close();
  } else {
    const connection = new IORedis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('bench', { connection });
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ name: 'echo', data: { n: j } });
      await queue.addBulk(batch);
    }
    await queue.close();
    await connection.quit();
  }
  return { before, perWaiting: ((await usedMemory(redis.client)) - before) / n };
}

/** Counts in Redis: [not yet started, running, finished-and-retained]. */
function counter(system, client) {
  if (system === 'ours') {
    return async () => {
      const c = await queueCounts(client, 'bench', 'default');
      return [c.waiting, c.active, c.succeeded];
    };
  }
  return async () => {
    const r = await client
      .pipeline()
      .llen('bull:bench:wait')
      .llen('bull:bench:active')
      .zcard('bull:bench:completed')
      .exec();
    return r.map(([, v]) => v);
  };
}

function startWorker(system, redis, { concurrency, retained, metricsPort, cpuProf }) {
  if (system === 'ours') {
    return spawnNode(path.join(DIST, 'apps/worker/main.js'), {
      nodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [],
      env: {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: 'bench',
        WORKER_QUEUES: 'default',
        WORKER_CONCURRENCY: String(concurrency),
        LOG_LEVEL: 'warn',
        RESULT_TTL_SECONDS: retained ? '86400' : '0',
        METRICS_PORT: String(metricsPort),
      },
    });
  }
  return spawnNode(path.join(__dirname, '../children/bullmq-worker.js'), {
    nodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [],
    env: { REDIS_URL: redis.url, QUEUE: 'bench', CONCURRENCY: String(concurrency), RETAIN: retained ? '1' : '0' },
  });
}

/**
 * One drain. BullMQ's "not retained" is removeOnComplete on every job (set at add time would
 * change the prefill, so the worker option is used: same effect, the job is deleted at completion).
 */
async function drainOnce(system, redis, { n, concurrency, retained, cpuProf }) {
  await redis.client.flushall();
  const memory = await prefill(system, redis, n);
  const count = counter(system, redis.client);
  const worker = startWorker(system, redis, { concurrency, retained, metricsPort: await freePort(), cpuProf });
  const begun = Date.now();
  let startAt = 0;
  let cpuAtStart = 0;
  let redisCpuAtStart = 0;
  try {
    for (;;) {
      if (worker.exitCode !== null) throw new Error(`${system} worker exited: ${worker.stderrTail()}`);
      if (Date.now() - begun > TIMEOUT_MS) throw new Error(`${system} drain timed out`);
      const [waiting, running, done] = await count();
      const now = performance.now();
      if (!startAt && waiting < n) {
        startAt = now;
        cpuAtStart = procCpuMs(worker.pid);
        redisCpuAtStart = await redisCpuMs(redis.client);
      }
      if (startAt && waiting === 0 && running === 0 && (!retained || done >= n)) {
        const seconds = (now - startAt) / 1000;
        const workerCpu = procCpuMs(worker.pid) - cpuAtStart;
        const redisCpu = (await redisCpuMs(redis.client)) - redisCpuAtStart;
        const result = {
          tasksPerSec: n / seconds,
          seconds,
          workerCpuUsPerTask: (workerCpu * 1000) / n,
          redisCpuUsPerTask: (redisCpu * 1000) / n,
          workerPeakRssBytes: procPeakRss(worker.pid),
          redisBytesPerWaiting: memory.perWaiting,
        };
        if (retained) result.redisBytesPerRetained = ((await usedMemory(redis.client)) - memory.before) / n;
        return result;
      }
      await sleep(POLL_MS);
    }
  } finally {
    await stopProcess(worker);
  }
}

module.exports = { drainOnce };
