'use strict';
// Scenario 7: the same work on one Redis node, a Redis Cluster of 1 master and one of 3 masters (no
// replicas: this measures sharding, not replication), 12 queues: a drain by 2 worker processes and
// HTTP submits to one api process, alternating the sides. Every process shares this machine's cores.
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { startCluster, ask } = require('../../scripts/redis-topologies');
const { DIST, freePort, sleep, spawnNode, startRedis, stopProcess, waitFor } = require('../lib/util');
const { createProducer, echoTask, queueCounts } = require('../lib/ours');

const QUEUES = Array.from({ length: 12 }, (_, i) => `q${i}`);
const WORKERS = 2;
const CONCURRENCY = 50;
const BATCH_SIZE = 100;
const POLL_MS = 10;
const TIMEOUT_MS = 180_000;

const SIDES = {
  one: 'one Redis node',
  c1: 'Redis Cluster, 1 master',
  c3: 'Redis Cluster, 3 masters',
};

/** The three Redis setups, each with the env the apps need, a producer target and a way to empty it. */
async function startSides() {
  const node = await startRedis();
  const c1 = await startCluster({ masters: 1, replicas: 0 });
  const c3 = await startCluster({ masters: 3, replicas: 0 });
  const clusterSide = (cluster) => ({
    appEnv: cluster.appEnv,
    target: { nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) },
    ports: cluster.ports,
    masters: cluster.ports.length,
    flush: () => Promise.all(cluster.ports.map((port) => ask(port, 'FLUSHALL'))),
  });
  return {
    sides: {
      one: {
        appEnv: { REDIS_URL: node.url },
        target: node.url,
        ports: [node.port],
        masters: 1,
        flush: () => node.client.flushall(),
      },
      c1: clusterSide(c1),
      c3: clusterSide(c3),
    },
    stop: () => Promise.all([node.stop(), c1.stop(), c3.stop()]),
  };
}

/** Redis CPU (user + sys, ms) summed over the side's masters. */
async function redisCpuMs(side) {
  let total = 0;
  for (const port of side.ports) {
    const text = String(await ask(port, 'INFO', 'cpu'));
    const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)[1]);
    total += (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  }
  return total;
}

/** Tasks not finished yet (queued + active) over the 12 queues. */
function counter(producer, prefix) {
  const redis = producer.redis;
  return async () => {
    const counts = await Promise.all(
      QUEUES.map(async (queue) => {
        const c = await queueCounts(redis, prefix, queue);
        return c.waiting + c.active;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  };
}

/** One drain of `n` tasks spread over the 12 queues by WORKERS worker processes. */
async function drainOnce(sideName, side, { n }) {
  await side.flush();
  const prefix = 'bench';
  const producer = createProducer(side.target, prefix);
  try {
    const perBatch = QUEUES.length * 100;
    for (let i = 0; i < n; i += perBatch) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + perBatch); j++)
        batch.push({ ...echoTask({ n: j }), queue: QUEUES[j % QUEUES.length] });
      await producer.enqueueMany(batch);
    }
    const remaining = counter(producer, prefix);
    const workers = [];
    for (let w = 0; w < WORKERS; w++) {
      workers.push(
        spawnNode(path.join(DIST, 'apps/worker/main.js'), {
          env: {
            ...side.appEnv,
            QUEUE_PREFIX: prefix,
            WORKER_QUEUES: QUEUES.join(','),
            WORKER_CONCURRENCY: String(CONCURRENCY),
            LOG_LEVEL: 'warn',
            RESULT_TTL_SECONDS: '0',
            METRICS_PORT: String(await freePort()),
          },
        }),
      );
    }
    const begun = Date.now();
    let startAt = 0;
    let redisCpuAtStart = 0;
    try {
      for (;;) {
        const dead = workers.find((worker) => worker.exitCode !== null);
        if (dead) throw new Error(`${sideName} worker exited: ${dead.stderrTail()}`);
        if (Date.now() - begun > TIMEOUT_MS) throw new Error(`${sideName} drain timed out`);
        const left = await remaining();
        const now = performance.now();
        if (!startAt && left < n) {
          startAt = now;
          redisCpuAtStart = await redisCpuMs(side);
        }
        if (startAt && left === 0) {
          const seconds = (now - startAt) / 1000;
          return {
            tasksPerSec: n / seconds,
            seconds,
            redisCpuUsPerTask: (((await redisCpuMs(side)) - redisCpuAtStart) * 1000) / n,
          };
        }
        await sleep(POLL_MS);
      }
    } finally {
      await Promise.all(workers.map((worker) => stopProcess(worker)));
    }
  } finally {
    await producer.close();
  }
}

/** One api process per side, started once and reused by every submit run. */
async function startApis(sides) {
  const apis = {};
  for (const [name, side] of Object.entries(sides)) {
    const port = await freePort();
    const proc = spawnNode(path.join(DIST, 'apps/api/main.js'), {
      env: {
        ...side.appEnv,
        QUEUE_PREFIX: 'bench',
        // The submit path, as in scenarios/http.js's unauthenticated side: no keys, no rate limit.
        AUTH_MODE: 'none',
        HOST: '127.0.0.1',
        RATE_LIMIT_MAX: '0',
        PORT: String(port),
        METRICS_PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`${name} api exited: ${proc.stderrTail()}`);
        const res = await fetch(`${url}/health/ready`);
        return res.status === 200;
      },
      30_000,
      `${name} api`,
    );
    apis[name] = { url, proc };
  }
  return { apis, stop: () => Promise.all(Object.values(apis).map(({ proc }) => stopProcess(proc))) };
}

/** autocannon, 50 connections; each connection cycles through the 12 queues. Every answer must be a 202. */
async function submitOnce(url, route, seconds) {
  const headers = { 'content-type': 'application/json' };
  const requests =
    route === 'batch'
      ? [
          {
            method: 'POST',
            path: '/submit/batch',
            headers,
            body: JSON.stringify({
              tasks: Array.from({ length: BATCH_SIZE }, (_, n) => ({
                task_type: 'echo',
                payload: { n },
                queue: QUEUES[n % QUEUES.length],
              })),
            }),
          },
        ]
      : QUEUES.map((queue) => ({
          method: 'POST',
          path: '/submit',
          headers,
          body: JSON.stringify({ task_type: 'echo', payload: { n: 1 }, queue }),
        }));
  const result = await autocannon({ url, connections: 50, duration: seconds, requests });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad) throw new Error(`${url} ${route}: ${bad} failed requests of ${result.requests.total}`);
  const reqPerSec = result.requests.total / (result.duration || seconds);
  return {
    reqPerSec,
    tasksPerSec: reqPerSec * (route === 'batch' ? BATCH_SIZE : 1),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

module.exports = {
  SIDES,
  QUEUES,
  WORKERS,
  CONCURRENCY,
  BATCH_SIZE,
  startSides,
  drainOnce,
  startApis,
  submitOnce,
  cores: () => os.cpus().length,
};
