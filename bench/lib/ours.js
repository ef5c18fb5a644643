'use strict';
// Loads taskq's producer from the TypeScript source (ts-node, transpile only) so the library
// scenarios measure the same code the api uses, without Nest around it.
const path = require('node:path');
const { ROOT } = require('./util');

let loaded;
function load() {
  if (loaded) return loaded;
  require('reflect-metadata');
  require('ts-node').register({ transpileOnly: true, project: path.join(ROOT, 'tsconfig.json') });
  const tsconfig = require('tsconfig-paths');
  const config = tsconfig.loadConfig(ROOT);
  tsconfig.register({ baseUrl: config.absoluteBaseUrl, paths: config.paths });
  const { QueueProducer } = require(path.join(ROOT, 'libs/queue/src/producer'));
  const { QueueRegistry } = require(path.join(ROOT, 'libs/queue/src/queue-registry'));
  const { defineScripts } = require(path.join(ROOT, 'libs/queue/src/scripts/script-loader'));
  const { queueKeys } = require(path.join(ROOT, 'libs/queue/src/keys/queue-keys'));
  loaded = { QueueProducer, QueueRegistry, defineScripts, queueKeys };
  return loaded;
}

/**
 * A producer on its own connection, configured like the api's: `target` is a Redis URL, or
 * `{ nodes: [{ host, port }, ...] }` for a Redis Cluster.
 */
function createProducer(target, prefix, { autoPipelining = false } = {}) {
  const { default: Redis, Cluster } = require('ioredis');
  const { QueueProducer, QueueRegistry, defineScripts } = load();
  const cluster = typeof target !== 'string';
  const redis = defineScripts(
    cluster
      ? new Cluster(target.nodes, { redisOptions: { maxRetriesPerRequest: 0 } })
      : new Redis(target, { enableAutoPipelining: autoPipelining, maxRetriesPerRequest: 0 }),
  );
  const options = {
    redis: cluster ? { mode: 'cluster', nodes: target.nodes } : { mode: 'standalone', url: target },
    prefix,
    leaseMs: 30_000,
    resultTtlSeconds: 86_400,
    maxRecoveries: 5,
    maxQueues: 0,
    dlqMaxSize: 0,
    commandTimeoutMs: 10_000,
    connectionName: 'bench',
  };
  const producer = new QueueProducer(redis, options, new QueueRegistry(redis, options));
  producer.close = () => redis.quit();
  return producer;
}

/** The same defaults the api fills in for an echo task. */
function echoTask(payload) {
  return { type: 'echo', queue: 'default', payload, priority: 0, maxRetries: 3, timeoutMs: 60_000 };
}

/**
 * A queue's tasks by where they are, in one pipeline (one slot): waiting (the queued set and the ready
 * list: the bench writes no tombstones), running, retained succeeded, dead, and waiting for PostgreSQL.
 */
async function queueCounts(client, prefix, queue) {
  const keys = load().queueKeys(prefix, queue);
  const replies = await client
    .pipeline()
    .zcard(keys.queued)
    .llen(keys.ready)
    .zcard(keys.active)
    .zcard(keys.succeeded)
    .zcard(keys.dead)
    .zcard(keys.archive)
    .exec();
  const [queued, ready, active, succeeded, dead, archive] = replies.map(([error, n]) => {
    if (error) throw error;
    return n;
  });
  return { waiting: queued + ready, active, succeeded, dead, archive };
}

module.exports = { load, createProducer, echoTask, queueCounts };
