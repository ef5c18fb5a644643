'use strict';
// Scenario 4: end-to-end latency at a steady rate, one worker process at concurrency 50.
// Submit time is the producer's clock just before the call; start and completion come from the
// systems' own records (taskq: started_at/finished_at; BullMQ: processedOn/finishedOn), all on
// this one machine's clock.
const path = require('node:path');
const { Queue } = require('bullmq');
const IORedis = require('ioredis');
const { DIST, freePort, percentile, sleep, spawnNode, stopProcess } = require('../lib/util');
const { createProducer, echoTask, load } = require('../lib/ours');

function startWorker(system, url, metricsPort) {
  if (system === 'ours') {
    return spawnNode(path.join(DIST, 'apps/worker/main.js'), {
      env: {
        REDIS_URL: url,
        QUEUE_PREFIX: 'bench',
        WORKER_QUEUES: 'default',
        WORKER_CONCURRENCY: '50',
        LOG_LEVEL: 'warn',
        RESULT_TTL_SECONDS: '3600',
        METRICS_PORT: String(metricsPort),
      },
    });
  }
  return spawnNode(path.join(__dirname, '../children/bullmq-worker.js'), {
    env: { REDIS_URL: url, QUEUE: 'bench', CONCURRENCY: '50', RETAIN: '1' },
  });
}

/** Sends `rate` tasks/s for `seconds`, catching up on timer drift so the rate holds. */
async function paced(rate, seconds, send) {
  const total = rate * seconds;
  const started = performance.now();
  const pending = [];
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent < due) pending.push(send(sent++));
    await sleep(1);
  }
  return Promise.all(pending);
}

async function latencyOnce(system, redis, { rate, seconds }) {
  await redis.client.flushall();
  const worker = startWorker(system, redis.url, await freePort());
  let client;
  try {
    let add;
    let timings;
    if (system === 'ours') {
      const producer = createProducer(redis.url, 'bench');
      client = { close: () => producer.close() };
      add = async (n) => {
        const submitted = Date.now();
        const task = await producer.enqueue(echoTask({ n }));
        return { id: task.id, submitted };
      };
      const keys = load().queueKeys('bench', 'default');
      timings = async (sent) => {
        const pipeline = redis.client.pipeline();
        for (const { id } of sent) pipeline.hmget(keys.taskPrefix + id, 'started_at', 'finished_at');
        return (await pipeline.exec()).map(([, [start, end]], i) => [
          Number(start) - sent[i].submitted,
          Number(end) - sent[i].submitted,
        ]);
      };
    } else {
      const connection = new IORedis(redis.url, { maxRetriesPerRequest: null });
      const queue = new Queue('bench', { connection });
      client = { close: () => queue.close().then(() => connection.quit()) };
      add = async (n) => {
        const job = await queue.add('echo', { n });
        return { id: job.id, submitted: job.timestamp };
      };
      timings = async (sent) => {
        const pipeline = redis.client.pipeline();
        for (const { id } of sent) pipeline.hmget(`bull:bench:${id}`, 'processedOn', 'finishedOn');
        return (await pipeline.exec()).map(([, [start, end]], i) => [
          Number(start) - sent[i].submitted,
          Number(end) - sent[i].submitted,
        ]);
      };
    }
    // Warm up: the worker is connected and has run a task before the clock starts.
    const warm = await add(-1);
    for (let i = 0; ; i++) {
      const [[, end]] = await timings([warm]);
      if (end > 0) break;
      if (worker.exitCode !== null || i > 2000)
        throw new Error(`${system} worker did not start: ${worker.stderrTail()}`);
      await sleep(10);
    }
    const sent = await paced(rate, seconds, add);
    let rows;
    for (let i = 0; ; i++) {
      rows = await timings(sent);
      if (rows.every(([, end]) => end >= 0 && Number.isFinite(end) && end < 1e12)) break;
      if (i > 3000) throw new Error(`${system}: tasks not finished`);
      await sleep(10);
    }
    const start = rows.map(([s]) => s).sort((a, b) => a - b);
    const done = rows.map(([, e]) => e).sort((a, b) => a - b);
    return {
      toStart: { p50: percentile(start, 50), p95: percentile(start, 95), p99: percentile(start, 99) },
      toComplete: { p50: percentile(done, 50), p95: percentile(done, 95), p99: percentile(done, 99) },
    };
  } finally {
    await client?.close();
    await stopProcess(worker);
  }
}

module.exports = { latencyOnce };
