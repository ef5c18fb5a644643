'use strict';
// The ceiling for "HTTP + one Redis write": Fastify parses the JSON body and does one LPUSH.
const fastify = require('fastify')({ logger: false });
const IORedis = require('ioredis');

const redis = new IORedis(process.env.REDIS_URL);
let n = 0;
fastify.post('/submit', async (request, reply) => {
  await redis.lpush('ceiling:list', JSON.stringify(request.body));
  reply.code(202);
  return { task_id: String(++n) };
});
fastify.post('/submit/batch', async (request, reply) => {
  const tasks = request.body.tasks;
  await redis.lpush('ceiling:list', ...tasks.map((task) => JSON.stringify(task)));
  reply.code(202);
  return { task_ids: tasks.map(() => String(++n)) };
});
fastify.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.once('SIGTERM', () =>
  fastify
    .close()
    .then(() => redis.quit())
    .then(() => process.exit(0)),
);
