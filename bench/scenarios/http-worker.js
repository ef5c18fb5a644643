'use strict';
// HTTP workers vs the native worker: N pre-filled no-op tasks drained by an HTTP worker (this process, `loops`
// claim loops of `batch` tasks each, every task completed with its own POST) through the built api, and by the
// native worker process at the same concurrency. What the /work protocol costs per task, measured on one machine
// where the api, the HTTP worker and Redis share the cores (a deployment puts them on their own).
const path = require('node:path');
const { DIST, freePort, procCpuMs, sleep, spawnNode, stopProcess, waitForHttp } = require('../lib/util');
const { createProducer, echoTask, queueCounts } = require('../lib/ours');
const { drainOnce } = require('./drain');

const PREFIX = 'bench';
const QUEUE = 'remote';
const TYPE = 'bench.noop';

async function startApi(redis) {
  const port = await freePort();
  const api = spawnNode(path.join(DIST, 'apps/api/main.js'), {
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: PREFIX,
      AUTH_MODE: 'none',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      RATE_LIMIT_MAX: '0',
      LOG_LEVEL: 'error',
      RESULT_TTL_SECONDS: '0',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/live`);
  return { api, url };
}

async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  if (res.status >= 300) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** Drains N tasks with `loops` HTTP claim loops of up to `batch` tasks each; returns tasks/s and the api's CPU per task. */
async function httpDrainOnce(redis, { n, loops, batch }) {
  await redis.client.flushall();
  const { api, url } = await startApi(redis);
  try {
    const put = await fetch(`${url}/task-types/${TYPE}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queue: QUEUE, payload_schema: {}, max_retries: 3, timeout_ms: 60_000 }),
    });
    if (put.status !== 201) throw new Error(`PUT /task-types answered ${put.status}`);
    const producer = createProducer(redis.url, PREFIX);
    for (let i = 0; i < n; i += 1000) {
      const tasks = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) tasks.push({ ...echoTask({ n: j }), type: TYPE, queue: QUEUE });
      await producer.enqueueMany(tasks);
    }
    await producer.close();

    let completed = 0;
    const apiCpuAtStart = procCpuMs(api.pid);
    const startAt = performance.now();
    const loop = async (i) => {
      for (;;) {
        const { tasks } = await post(`${url}/work/claim`, { worker_id: `bench-${i}`, queues: [QUEUE], max: batch });
        if (tasks.length === 0) return;
        await Promise.all(
          tasks.map((task) =>
            post(`${url}/work/${task.task_id}/complete`, { lease_token: task.lease_token, result: null }),
          ),
        );
        completed += tasks.length;
      }
    };
    await Promise.all(Array.from({ length: loops }, (_, i) => loop(i)));
    const seconds = (performance.now() - startAt) / 1000;
    const counts = await queueCounts(redis.client, PREFIX, QUEUE);
    if (completed !== n || counts.waiting !== 0 || counts.active !== 0) {
      throw new Error(`HTTP drain left tasks: completed ${completed} of ${n}, ${JSON.stringify(counts)}`);
    }
    return { tasksPerSec: n / seconds, seconds, apiCpuUsPerTask: ((procCpuMs(api.pid) - apiCpuAtStart) * 1000) / n };
  } finally {
    await stopProcess(api);
    await sleep(50);
  }
}

/** The same N no-op tasks drained by the native worker at `loops * batch` concurrency (drain.js). */
function nativeDrainOnce(redis, { n, loops, batch }) {
  return drainOnce('ours', redis, { n, concurrency: loops * batch, retained: false });
}

module.exports = { httpDrainOnce, nativeDrainOnce };
