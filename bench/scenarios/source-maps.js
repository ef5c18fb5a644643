'use strict';
// The cost of running the worker with source maps (node --enable-source-maps, as the image, npm start and the
// tests run it): the same drain with and without, alternating, for tasks that succeed (echo: the hot path, no
// stack is read) and tasks that fail (fail, max_retries 0: each run's error stack is read once, mapped to the
// TypeScript source, and kept in the task's history). Measured per run, as in scenarios/drain.js: first claim
// to the last task finished (queued and active empty, every task in succeeded or dead), and the worker's CPU.
const path = require('node:path');
const { DIST, freePort, procCpuMs, sleep, spawnNode, stopProcess } = require('../lib/util');
const { createProducer, load, queueCounts } = require('../lib/ours');

const POLL_MS = 2;
const TIMEOUT_MS = 180_000;

/** The task each kind drains: echo succeeds; fail throws every time and, with no retry left, dies at once. */
function taskOf(kind, n) {
  return kind === 'echo'
    ? { type: 'echo', queue: 'default', payload: { n }, priority: 0, maxRetries: 3, timeoutMs: 60_000 }
    : { type: 'fail', queue: 'default', payload: {}, priority: 0, maxRetries: 0, timeoutMs: 60_000 };
}

async function prefill(redis, kind, n) {
  const producer = createProducer(redis.url, 'bench');
  for (let i = 0; i < n; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push(taskOf(kind, j));
    await producer.enqueueMany(batch);
  }
  await producer.close();
}

/** One drain of `n` tasks of `kind`, the worker started with or without --enable-source-maps. */
async function sourceMapsDrainOnce(redis, { kind, sourceMaps, n, concurrency }) {
  await redis.client.flushall();
  await prefill(redis, kind, n);
  const keys = load().queueKeys('bench', 'default');
  const worker = spawnNode(path.join(DIST, 'apps/worker/main.js'), {
    sourceMaps,
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'bench',
      WORKER_QUEUES: 'default',
      WORKER_CONCURRENCY: String(concurrency),
      // The failing tasks would write one error line each at warn: the measure is the stack, not the log.
      LOG_LEVEL: 'error',
      RESULT_TTL_SECONDS: '86400',
      METRICS_PORT: String(await freePort()),
    },
  });
  const begun = Date.now();
  let startAt = 0;
  let cpuAtStart = 0;
  try {
    for (;;) {
      if (worker.exitCode !== null) throw new Error(`worker exited: ${worker.stderrTail()}`);
      if (Date.now() - begun > TIMEOUT_MS) throw new Error(`${kind} drain timed out`);
      const c = await queueCounts(redis.client, 'bench', 'default');
      const [waiting, running, succeeded, dead] = [c.waiting, c.active, c.succeeded, c.dead];
      const now = performance.now();
      if (!startAt && waiting < n) {
        startAt = now;
        cpuAtStart = procCpuMs(worker.pid);
      }
      if (startAt && waiting === 0 && running === 0 && succeeded + dead >= n) {
        const seconds = (now - startAt) / 1000;
        if (kind === 'fail' && dead < n) throw new Error(`only ${dead} of ${n} fail tasks are dead`);
        return {
          tasksPerSec: n / seconds,
          seconds,
          workerCpuUsPerTask: ((procCpuMs(worker.pid) - cpuAtStart) * 1000) / n,
          stack: kind === 'fail' ? await lastErrorDetail(redis, keys) : undefined,
        };
      }
      await sleep(POLL_MS);
    }
  } finally {
    await stopProcess(worker);
  }
}

/** Where the first frame of one dead task's recorded stack points: the mapped source, or the bundle. */
async function lastErrorDetail(redis, keys) {
  const [id] = await redis.client.zrange(keys.dead, 0, 0);
  const history = JSON.parse((await redis.client.hget(`${keys.taskPrefix}${id}`, 'history')) ?? '[]');
  const frame = /\(([^)]+:\d+:\d+)\)/.exec(history.at(-1)?.error ?? '');
  return frame ? path.basename(frame[1]) : null;
}

module.exports = { sourceMapsDrainOnce };
