#!/usr/bin/env node
'use strict';
/**
 * `node bench/bounds.js`: the floors under the two rows whose targets need a different design, not
 * faster code, measured rather than argued:
 *   1. Redis bytes per waiting task: what one task hash and its `ready` list entry take (MEMORY USAGE),
 *      against the floor of any one-key-per-task layout with ids that name their queue: a one-field
 *      hash with a key of the same length, and a sorted-set member of the same id.
 *   2. Worker RSS: a Node process after requiring the worker's module graph (Nest and what the worker
 *      imports) against one after requiring BullMQ, before either does any work.
 * Prints a markdown table; nothing is written.
 */
const { execFileSync } = require('node:child_process');
const { startRedis, usedMemory } = require('./lib/util');
const { createProducer, echoTask, load } = require('./lib/ours');

const N = 20_000;

/** RSS (MiB) of a fresh node that has required `modules`. */
function rssAfterRequiring(modules) {
  const script = `${modules.map((m) => `require(${JSON.stringify(m)});`).join('')}
    setTimeout(() => { global.gc?.(); process.stdout.write(String(process.memoryUsage().rss)); }, 200);`;
  return Number(execFileSync(process.execPath, ['--expose-gc', '-e', script], { cwd: __dirname })) / 1048576;
}

/** What the built worker requires at start (its externals), read off the bundle. */
function workerModules() {
  const bundle = require('node:fs').readFileSync(require.resolve('../dist/apps/worker/main.js'), 'utf8');
  return [...new Set([...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))].filter(
    (m) => !m.startsWith('node:'),
  );
}

async function bytesPerWaiting() {
  const redis = await startRedis();
  try {
    const producer = createProducer(redis.url, 'bench');
    const before = await usedMemory(redis.client);
    for (let i = 0; i < N; i += 1000) {
      await producer.enqueueMany(Array.from({ length: 1000 }, (_, j) => echoTask({ n: i + j })));
    }
    const after = await usedMemory(redis.client);
    await producer.close();
    const keys = load().queueKeys('bench', 'default');
    const [taskKey] = await redis.client.lrange(keys.ready, 0, 0).then(([id]) => [`${keys.taskPrefix}${id}`]);
    const id = taskKey.slice(keys.taskPrefix.length);
    const taskBytes = await redis.client.memory('USAGE', taskKey);
    const queuedBytes = (await redis.client.memory('USAGE', keys.ready, 'SAMPLES', 0)) / N;
    await redis.client.hset('x'.repeat(taskKey.length), 'a', '1');
    const floorKey = await redis.client.memory('USAGE', 'x'.repeat(taskKey.length));
    await redis.client.rpush('floor:list', ...Array.from({ length: N }, (_, i) => String(i + 1)));
    const listEntry = (await redis.client.memory('USAGE', 'floor:list', 'SAMPLES', 0)) / N;
    return { perWaiting: (after - before) / N, taskKey, id, taskBytes, queuedBytes, floorKey, listEntry };
  } finally {
    await redis.stop();
  }
}

async function main() {
  const b = await bytesPerWaiting();
  const modules = workerModules();
  const worker = rssAfterRequiring(modules);
  const bullmq = rssAfterRequiring(['bullmq', 'ioredis']);
  const bare = rssAfterRequiring([]);
  const f = (n) => n.toFixed(0);
  console.log(`| measure | bytes / MiB |
| --- | ---: |
| Redis bytes per waiting task (INFO memory over ${N.toLocaleString('en-US')} enqueued) | ${f(b.perWaiting)} |
| one task hash (MEMORY USAGE; key of ${b.taskKey.length} chars, id of ${b.id.length}) | ${f(b.taskBytes)} |
| its entry in the \`ready\` list (priority 0; quicklist, per entry) | ${f(b.queuedBytes)} |
| floor: a one-field hash under a key of the same length | ${f(b.floorKey)} |
| floor: one entry of a list of integer ids (BullMQ's wait list) | ${f(b.listEntry)} |
| Node process, nothing required (RSS, MiB) | ${bare.toFixed(1)} |
| after requiring the worker's modules (${modules.length}: Nest, ioredis, pino, prom-client, terminus, pg, …) | ${worker.toFixed(1)} |
| after requiring bullmq and ioredis | ${bullmq.toFixed(1)} |`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
