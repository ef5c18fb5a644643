import Redis, { Cluster, RedisOptions } from 'ioredis';
import { createHash, randomBytes } from 'node:crypto';
import type { RedisConnection, RedisNode } from '@app/queue';

/**
 * The Redis the int and e2e suites run against, chosen by environment (scripts/test.js sets it):
 *   TEST_REDIS_MODE=standalone (default)  REDIS_URL (an existing server or a throwaway one)
 *   TEST_REDIS_MODE=cluster               TEST_REDIS_CLUSTER_NODES=host:port,...   (a Redis Cluster)
 *   TEST_REDIS_MODE=sentinel              TEST_REDIS_SENTINELS=host:port,... + TEST_REDIS_SENTINEL_NAME
 * `node scripts/redis-topologies.js cluster|sentinel` starts one and prints these variables.
 */
export type TestRedisMode = RedisConnection['mode'];
export const TEST_REDIS_MODE = (process.env.TEST_REDIS_MODE || 'standalone') as TestRedisMode;

/** The standalone Redis: scripts/test.js sets REDIS_URL (an existing server or a throwaway one). */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A test-side client: one node (standalone, or the master Sentinel names) or a whole cluster. */
export type TestRedis = Redis | Cluster;

function addresses(name: string): RedisNode[] {
  const list = process.env[name] ?? '';
  const nodes = list
    .split(',')
    .filter(Boolean)
    .map((entry) => ({
      host: entry.slice(0, entry.lastIndexOf(':')),
      port: Number(entry.slice(entry.lastIndexOf(':') + 1)),
    }));
  if (!nodes.length) throw new Error(`TEST_REDIS_MODE=${TEST_REDIS_MODE} needs ${name}=host:port,...`);
  return nodes;
}

/** Where the suites' Redis is, as the queue library takes it (QueueHarness boots libs/queue with it). */
export function testRedisConnection(): RedisConnection {
  switch (TEST_REDIS_MODE) {
    case 'standalone':
      return { mode: 'standalone', url: TEST_REDIS_URL };
    case 'cluster':
      return { mode: 'cluster', nodes: addresses('TEST_REDIS_CLUSTER_NODES') };
    case 'sentinel':
      return {
        mode: 'sentinel',
        sentinels: addresses('TEST_REDIS_SENTINELS'),
        name: process.env.TEST_REDIS_SENTINEL_NAME || 'taskq',
      };
    default:
      throw new Error(`TEST_REDIS_MODE must be standalone, cluster or sentinel, not ${String(TEST_REDIS_MODE)}`);
  }
}

/** A plain URL means one standalone node. */
export function asConnection(target: RedisConnection | string): RedisConnection {
  return typeof target === 'string' ? { mode: 'standalone', url: target } : target;
}

/** The apps' environment for a connection: REDIS_URL, or REDIS_CLUSTER_NODES, or REDIS_SENTINELS + name. */
export function redisAppEnv(target: RedisConnection | string): Record<string, string> {
  const connection = asConnection(target);
  const list = (nodes: RedisNode[]) => nodes.map((node) => `${node.host}:${node.port}`).join(',');
  switch (connection.mode) {
    case 'standalone':
      return { REDIS_URL: connection.url };
    case 'cluster':
      return { REDIS_CLUSTER_NODES: list(connection.nodes) };
    case 'sentinel':
      return { REDIS_SENTINELS: list(connection.sentinels), REDIS_SENTINEL_NAME: connection.name };
  }
}

/**
 * The one way tests make their own Redis client: an ioredis `Cluster` in cluster mode (reads from
 * masters), a Sentinel-following client in sentinel mode, else a plain connection. `options` apply to
 * every node connection.
 */
export function createTestRedis(
  target: RedisConnection | string = testRedisConnection(),
  options: RedisOptions = {},
): TestRedis {
  const client = newClient(asConnection(target), options);
  // A lost connection shows up as the failing command; the client's own reconnect noise is not a result.
  client.on('error', () => undefined);
  return client;
}

function newClient(connection: RedisConnection, options: RedisOptions): TestRedis {
  switch (connection.mode) {
    case 'standalone':
      return new Redis(connection.url, options);
    case 'cluster':
      return new Cluster(connection.nodes, {
        scaleReads: 'master',
        natMap: connection.natMap,
        redisOptions: { ...options, username: connection.username, password: connection.password },
      });
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: connection.sentinels,
        name: connection.name,
        role: 'master',
        username: connection.username,
        password: connection.password,
      });
  }
}

/**
 * The connections that hold keys: every master of a cluster (SCAN, KEYS-like walks, DUMP must visit
 * each: one node only sees its own slots), or the client itself. Waits for a cluster's slot map.
 */
export async function masterNodes(redis: TestRedis): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.status !== 'ready') {
    if (redis.status === 'wait') await redis.connect();
    else await waitFor(() => redis.status === 'ready', { what: 'the cluster client to be ready' });
  }
  const masters = redis.nodes('master');
  if (!masters.length) throw new Error('the cluster client knows no master');
  return masters;
}

/**
 * Short-lived connections to every replica of the suite's Redis (none on one node): a cluster's as its
 * slot map lists them, a Sentinel group's as the sentinels list them. Close them after use.
 */
export async function replicaNodes(
  redis: TestRedis,
  target: RedisConnection = testRedisConnection(),
): Promise<Redis[]> {
  if (redis instanceof Cluster) {
    await masterNodes(redis);
    return redis.nodes('slave').map((node) => new Redis({ host: node.options.host, port: node.options.port }));
  }
  if (target.mode !== 'sentinel') return [];
  const sentinel = new Redis({ ...target.sentinels[0], lazyConnect: true });
  try {
    const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', target.name)) as string[][];
    return replicas.map((fields) => {
      const field = (name: string) => fields[fields.indexOf(name) + 1];
      return new Redis({ host: field('ip'), port: Number(field('port')) });
    });
  } finally {
    sentinel.disconnect();
  }
}

/** Every key matching `pattern` on one node (SCAN, never KEYS). */
export async function scanNode(node: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

/** Every key matching `pattern`, on every master. */
export async function scanKeys(redis: TestRedis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of await masterNodes(redis)) out.push(...(await scanNode(node, pattern)));
  return out;
}

/** A key prefix no other test uses. */
export function uniquePrefix(label = 't'): string {
  return `taskq-test:${label}:${randomBytes(4).toString('hex')}`;
}

/**
 * Deletes every key under the prefix (SCAN on every master, never KEYS). Each key is unlinked on its
 * own: a multi-key DEL across slots is refused by a cluster node even when it holds them all.
 */
export async function deleteByPrefix(redis: TestRedis, prefix: string): Promise<void> {
  for (const node of await masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) {
        const pipe = node.pipeline();
        keys.forEach((key) => pipe.unlink(key));
        for (const [error] of (await pipe.exec()) ?? []) if (error) throw error;
      }
      cursor = next;
    } while (cursor !== '0');
  }
}

/** Thrown from a waitFor condition to stop polling at once (e.g. the process being waited on died). */
export class GiveUp extends Error {
  constructor(readonly cause: Error) {
    super(cause.message);
  }
}

/** Polls `condition` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as T;
    } catch (error) {
      if (error instanceof GiveUp) throw error.cause;
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * What a database holds, key by key: a digest of each key's serialized value (DUMP) and its absolute
 * expiry (PEXPIRETIME), so "nothing was written" is checked as "nothing changed", not as "the key
 * count is the same". The connection's whole logical database (on a cluster: every master's), or
 * only the keys under `prefix`.
 */
export async function snapshotKeys(redis: TestRedis, prefix?: string): Promise<Map<string, string>> {
  const found: [Redis, string][] = [];
  for (const node of await masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', prefix ? `${prefix}:*` : '*', 'COUNT', 1000);
      keys.forEach((key) => found.push([node, key]));
      cursor = next;
    } while (cursor !== '0');
  }
  found.sort(([, a], [, b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out = new Map<string, string>();
  for (let i = 0; i < found.length; i += 500) {
    const chunk = found.slice(i, i + 500);
    // Each key is read on the node that holds it (a pipeline per node: one connection, one slot map).
    const pipes = new Map<Redis, { pipe: ReturnType<Redis['pipeline']>; keys: string[] }>();
    for (const [node, key] of chunk) {
      let entry = pipes.get(node);
      if (!entry) pipes.set(node, (entry = { pipe: node.pipeline(), keys: [] }));
      entry.pipe.dumpBuffer(key).call('PEXPIRETIME', key);
      entry.keys.push(key);
    }
    const values = new Map<string, string>();
    for (const { pipe, keys } of pipes.values()) {
      const replies = (await pipe.exec()) ?? [];
      keys.forEach((key, j) => {
        const [[dumpError, dump], [expiryError, expiry]] = [replies[2 * j], replies[2 * j + 1]];
        if (dumpError || expiryError) throw dumpError ?? expiryError;
        // A key deleted between SCAN and DUMP reads as gone.
        if (dump === null) return;
        const digest = createHash('sha256')
          .update(dump as Buffer)
          .digest('hex');
        values.set(key, `${digest} expires ${String(expiry)}`);
      });
    }
    for (const [, key] of chunk) if (values.has(key)) out.set(key, values.get(key)!);
  }
  return out;
}

/** How two snapshots differ: keys added (+), removed (-), changed (~); empty = the same. */
export function diffSnapshots(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [key, value] of after) {
    if (!before.has(key)) out.push(`+ ${key}`);
    else if (before.get(key) !== value) out.push(`~ ${key}`);
  }
  for (const key of before.keys()) if (!after.has(key)) out.push(`- ${key}`);
  return out;
}
