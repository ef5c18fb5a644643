'use strict';
// A minimal Fastify server that calls BullMQ's `add` (or `addBulk`) per request.
const fastify = require('fastify')({ logger: false });
const { Queue } = require('bullmq');
const IORedis = require('ioredis');

const connection = new IORedis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const queue = new Queue('bench', { connection });
fastify.post('/submit', async (request, reply) => {
  const job = await queue.add(request.body.task_type, request.body.payload);
  reply.code(202);
  return { task_id: job.id };
});
fastify.post('/submit/batch', async (request, reply) => {
  const jobs = await queue.addBulk(request.body.tasks.map((t) => ({ name: t.task_type, data: t.payload })));
  reply.code(202);
  return { task_ids: jobs.map((job) => job.id) };
});
fastify.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.once('SIGTERM', () =>
  fastify
    .close()
    .then(() => queue.close())
    .then(() => process.exit(0)),
);
