'use strict';
// Scenario 3: HTTP submission with autocannon (50 connections): the built api against a minimal
// Fastify + one LPUSH per request (the ceiling) and a minimal Fastify + BullMQ add/addBulk.
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const autocannon = require('autocannon');
const { DIST, freePort, procCpuMs, redisCpuMs, spawnNode, stopProcess, waitFor } = require('../lib/util');

const ONE = JSON.stringify({ task_type: 'echo', payload: { n: 1 } });
const BATCH_SIZE = 100;
const BATCH = JSON.stringify({
  tasks: Array.from({ length: BATCH_SIZE }, (_, n) => ({ task_type: 'echo', payload: { n } })),
});

/** The key the api with authentication on creates at boot (BOOTSTRAP_ADMIN_KEY) and the load sends. */
const API_KEY = `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;
/** Where that api keeps its keys; they are kept across the FLUSHALL between runs (see keepKeys). */
const AUTH_PREFIX = 'benchauth';

async function startServers(redisUrl) {
  const ports = {
    ours: await freePort(),
    oursAuth: await freePort(),
    ceiling: await freePort(),
    bullmq: await freePort(),
  };
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
    // As users run it: an API key on every request, the rate limit and the quotas counted in Redis
    // (set high enough never to refuse the load).
    oursAuth: spawnNode(path.join(DIST, 'apps/api/main.js'), {
      env: {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: AUTH_PREFIX,
        AUTH_MODE: 'api-key',
        BOOTSTRAP_ADMIN_KEY: API_KEY,
        HOST: '127.0.0.1',
        RATE_LIMIT_MAX: '10000000',
        QUOTA_TASKS: '1000000000',
        PORT: String(ports.oursAuth),
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
          headers: headersFor(name),
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

function headersFor(system) {
  return { 'content-type': 'application/json', ...(system === 'oursAuth' ? { 'x-api-key': API_KEY } : {}) };
}

/**
 * Runs `flush` (the FLUSHALL between runs) keeping the authenticated api's key records, which it
 * creates only at boot: DUMP before, RESTORE after.
 */
async function keepKeys(client, flush) {
  const keys = await client.keys(`${AUTH_PREFIX}:{.auth}:*`);
  const dumps = await Promise.all(keys.map((key) => client.dumpBuffer(key)));
  await flush();
  await Promise.all(keys.map((key, i) => client.restore(key, 0, dumps[i], 'REPLACE')));
}

/**
 * One autocannon run; every answer must be a 202 or the run is reported as broken. With the server's
 * `pid` and the Redis `client`, also the CPU each spent per request: one Node process serves at most
 * 1 s / (its CPU per request), which bounds every req/s row whatever the machine.
 */
async function load(system, baseUrl, route, seconds, pid, client) {
  const batch = route === 'batch';
  const serverCpuAtStart = procCpuMs(pid);
  const redisCpuAtStart = await redisCpuMs(client);
  const result = await autocannon({
    url: `${baseUrl}${batch ? '/submit/batch' : '/submit'}`,
    method: 'POST',
    connections: 50,
    duration: seconds,
    headers: headersFor(system),
    body: batch ? BATCH : ONE,
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad) throw new Error(`${baseUrl}${route}: ${bad} failed requests of ${result.requests.total}`);
  const serverCpuMs = procCpuMs(pid) - serverCpuAtStart;
  const redisCpuMsUsed = (await redisCpuMs(client)) - redisCpuAtStart;
  const reqPerSec = result.requests.total / (result.duration || seconds);
  return {
    reqPerSec,
    serverCpuUsPerReq: (serverCpuMs * 1000) / result.requests.total,
    redisCpuUsPerReq: (redisCpuMsUsed * 1000) / result.requests.total,
    tasksPerSec: reqPerSec * (batch ? BATCH_SIZE : 1),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

module.exports = { startServers, load, keepKeys, BATCH_SIZE };
