'use strict';
// Scenario 3: HTTP submission with autocannon (50 connections): the built api against a minimal
// Fastify + one LPUSH per request (the ceiling) and a minimal Fastify + BullMQ add/addBulk.
const path = require('node:path');
const autocannon = require('autocannon');
const { DIST, freePort, spawnNode, stopProcess, waitFor } = require('../lib/util');

const ONE = JSON.stringify({ task_type: 'echo', payload: { n: 1 } });
const BATCH_SIZE = 100;
const BATCH = JSON.stringify({
  tasks: Array.from({ length: BATCH_SIZE }, (_, n) => ({ task_type: 'echo', payload: { n } })),
});

async function startServers(redisUrl) {
  const ports = { ours: await freePort(), ceiling: await freePort(), bullmq: await freePort() };
  const servers = {
    ours: spawnNode(path.join(DIST, 'apps/api/main.js'), {
      env: {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: 'bench',
        // Measures the submit path, as the anchors (no auth, no rate limit) do.
        AUTH_MODE: 'none',
        HOST: '127.0.0.1',
        RATE_LIMIT_MAX: '0',
        PORT: String(ports.ours),
        METRICS_PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      },
    }),
    ceiling: spawnNode(path.join(__dirname, '../children/fastify-lpush.js'), {
      env: { REDIS_URL: redisUrl, PORT: String(ports.ceiling) },
    }),
    bullmq: spawnNode(path.join(__dirname, '../children/fastify-bullmq.js'), {
      env: { REDIS_URL: redisUrl, PORT: String(ports.bullmq) },
    }),
  };
  for (const [name, server] of Object.entries(servers)) {
    await waitFor(
      async () => {
        if (server.exitCode !== null) throw new Error(`${name} server exited: ${server.stderrTail()}`);
        const res = await fetch(`http://127.0.0.1:${ports[name]}/submit`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: ONE,
        });
        return res.status === 202;
      },
      30_000,
      `${name} server`,
    );
  }
  return {
    urls: Object.fromEntries(Object.keys(ports).map((name) => [name, `http://127.0.0.1:${ports[name]}`])),
    pids: Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, server.pid])),
    stop: () => Promise.all(Object.values(servers).map((server) => stopProcess(server))),
  };
}

/** One autocannon run; every answer must be a 202 or the run is reported as broken. */
async function load(baseUrl, route, seconds) {
  const batch = route === 'batch';
  const result = await autocannon({
    url: `${baseUrl}${batch ? '/submit/batch' : '/submit'}`,
    method: 'POST',
    connections: 50,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: batch ? BATCH : ONE,
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad) throw new Error(`${baseUrl}${route}: ${bad} failed requests of ${result.requests.total}`);
  const reqPerSec = result.requests.total / (result.duration || seconds);
  return {
    reqPerSec,
    tasksPerSec: reqPerSec * (batch ? BATCH_SIZE : 1),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

module.exports = { startServers, load, BATCH_SIZE };
