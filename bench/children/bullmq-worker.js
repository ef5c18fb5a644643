'use strict';
// BullMQ's Worker in its own process, the anchor of the drain and latency scenarios.
// The processor is a no-op that returns its data, like taskq's `echo`.
const { Worker } = require('bullmq');
const IORedis = require('ioredis');

const connection = new IORedis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const worker = new Worker(process.env.QUEUE, async (job) => job.data, {
  connection,
  concurrency: Number(process.env.CONCURRENCY),
  // Not retained = the job hash is deleted at completion, like RESULT_TTL_SECONDS=0.
  removeOnComplete: process.env.RETAIN === '1' ? { count: 1_000_000 } : { count: 0 },
});
worker.on('error', (error) => console.error(`bullmq worker: ${error.message}`));

process.once('SIGTERM', async () => {
  await worker.close();
  await connection.quit();
  process.exit(0);
});
