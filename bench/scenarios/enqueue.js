'use strict';
// Scenario 2: enqueue through each library, in-process, on its own connection.
const { Queue } = require('bullmq');
const BeeQueue = require('bee-queue');
const IORedis = require('ioredis');
const { createProducer, echoTask } = require('../lib/ours');
const { redisCpuMs } = require('../lib/util');

const MODES = {
  one: { n: 2000, label: 'one by one (awaited)' },
  inflight100: { n: 10_000, label: '100 in flight' },
  bulk100: { n: 20_000, batch: 100, label: 'bulk, batches of 100' },
  bulk1000: { n: 20_000, batch: 1000, label: 'bulk, batches of 1000' },
};

/** Each client exposes add(data) and addMany(datas) for a no-op task. */
async function openClients(url) {
  const ours = createProducer(url, 'bench');
  const connection = new IORedis(url, { maxRetriesPerRequest: null });
  const bull = new Queue('bench', { connection });
  const port = Number(new URL(url).port);
  const bee = new BeeQueue('bench', {
    redis: { host: '127.0.0.1', port },
    isWorker: false,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    activateDelayedJobs: false,
  });
  await bee.ready();
  const clients = {
    ours: {
      add: (data) => ours.enqueue(echoTask(data)),
      addMany: (datas) => ours.enqueueMany(datas.map(echoTask)),
    },
    bullmq: {
      add: (data) => bull.add('echo', data),
      addMany: (datas) => bull.addBulk(datas.map((data) => ({ name: 'echo', data }))),
    },
    bee: {
      add: (data) => bee.createJob(data).save(),
      addMany: async (datas) => {
        const errors = await bee.saveAll(datas.map((data) => bee.createJob(data)));
        if (errors.size) throw [...errors.values()][0];
      },
    },
  };
  const close = async () => {
    await ours.close();
    await bull.close();
    await connection.quit();
    await bee.close();
  };
  return { clients, close };
}

/**
 * One run of `mode`: tasks/s, and the CPU per task this process (the client library) and Redis
 * spent. Runs are awaited one at a time, so client + Redis CPU per task bounds the rate.
 */
async function enqueueOnce(client, mode, redisClient) {
  const { n, batch } = MODES[mode];
  const redisCpuAtStart = await redisCpuMs(redisClient);
  const clientCpuAtStart = process.cpuUsage();
  const started = performance.now();
  if (mode === 'one') {
    for (let i = 0; i < n; i++) await client.add({ n: i });
  } else if (mode === 'inflight100') {
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < n) await client.add({ n: next++ });
      }),
    );
  } else {
    for (let i = 0; i < n; i += batch) {
      const datas = [];
      for (let j = i; j < i + batch; j++) datas.push({ n: j });
      await client.addMany(datas);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const clientCpu = process.cpuUsage(clientCpuAtStart);
  return {
    tasksPerSec: n / seconds,
    clientCpuUsPerTask: (clientCpu.user + clientCpu.system) / n,
    redisCpuUsPerTask: (((await redisCpuMs(redisClient)) - redisCpuAtStart) * 1000) / n,
  };
}

module.exports = { MODES, openClients, enqueueOnce };
