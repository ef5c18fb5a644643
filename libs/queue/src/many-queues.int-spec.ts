import Redis from 'ioredis';
import {
  checkQueueInvariant,
  createTestRedis,
  masterNodes,
  newTask,
  QueueHarness,
  replicaNodes,
  scanNode,
  TEST_REDIS_MODE,
  TestRedis,
} from '@app/testing';

/**
 * Twelve queues at once, in every TEST_REDIS_MODE. On a Redis Cluster they sit on every master, so
 * this is where a multi-key command across slots, a pipeline spanning nodes or a blocking wait on one
 * node only would show: one batch over all queues, calls of one tick sharing pipelines, listings and
 * counts over all queues, and a worker waiting on all of them woken by each.
 */
describe('libs/queue over 12 queues (on every master of a cluster)', () => {
  const queues = Array.from({ length: 12 }, (_, i) => `mq-${i}`);
  let redis: TestRedis;
  let h: QueueHarness;

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    h = await QueueHarness.boot();
  });
  afterEach(async () => {
    for (const queue of queues) expect([queue, await checkQueueInvariant(redis, h.prefix, queue)]).toEqual([queue, []]);
    await h.close(redis);
  });

  /** Claims and acks everything in every queue; returns the ids claimed. */
  async function drain(): Promise<string[]> {
    const ids: string[] = [];
    for (const queue of queues) {
      const { tasks } = await h.consumer.claim(queue, 100);
      await Promise.all(tasks.map((task) => h.consumer.ack(task, '')));
      ids.push(...tasks.map((task) => task.id));
    }
    return ids;
  }

  it('writes a batch over all queues and concurrent calls of one tick, then lists, counts and claims them all', async () => {
    const batch = await h.producer.enqueueMany(queues.flatMap((queue) => [newTask(queue), newTask(queue)]));
    const singles = await Promise.all(queues.map((queue) => h.producer.enqueue(newTask(queue, { priority: 5 }))));
    expect([...batch, ...singles].every((task) => task.status === 'queued')).toBe(true);

    expect(await h.inspector.listQueues()).toEqual([...queues].sort());
    const stats = await h.inspector.allStats();
    expect(stats.map((s) => [s.queue, s.counts.queued])).toEqual([...queues].sort().map((queue) => [queue, 3]));

    // Each queue's keys in one place: on a cluster, every master holds some queues, and no queue is split.
    const holders = new Map<string, Set<string>>();
    for (const node of await masterNodes(redis)) {
      for (const key of await scanNode(node, `${h.prefix}:{*`)) {
        const queue = /\{([^}]+)\}/.exec(key)![1];
        holders.set(queue, (holders.get(queue) ?? new Set()).add(`${node.options.host}:${node.options.port}`));
      }
    }
    expect([...holders.values()].filter((nodes) => nodes.size !== 1)).toEqual([]);
    const nodesUsed = new Set([...holders.values()].flatMap((nodes) => [...nodes]));
    expect(nodesUsed.size).toBe(Math.min(3, (await masterNodes(redis)).length));

    const claimed = await drain();
    expect(claimed.sort()).toEqual([...batch, ...singles].map((task) => task.id).sort());
    expect((await h.inspector.allStats()).every((s) => s.counts.succeeded === 3 && s.counts.queued === 0)).toBe(true);
  });

  it('sends no script and no read to a replica: claims and every read go to masters', async () => {
    const replicas = await replicaNodes(redis);
    try {
      // One replica per master on the suites' cluster and Sentinel group; none on one node.
      const masters = (await masterNodes(redis)).length;
      expect(replicas.length).toBe({ standalone: 0, cluster: masters, sentinel: 1 }[TEST_REDIS_MODE]);
      const before = await Promise.all(replicas.map(clientCalls));
      const enqueued = await h.producer.enqueueMany(queues.map((queue) => newTask(queue)));
      expect(await drain()).toHaveLength(queues.length);
      for (const task of enqueued) expect((await h.inspector.getTask(task.id)).status).toBe('succeeded');
      await h.inspector.allStats();
      await h.inspector.listDeadAcross([queues[0]], 10);
      // A replica runs the master's writes (as effects, never as scripts) and nothing else.
      expect(await Promise.all(replicas.map(clientCalls))).toEqual(before);
    } finally {
      replicas.forEach((replica) => replica.disconnect());
    }
  });

  it('wakes a worker waiting on all 12 queues when any one of them gets a task', async () => {
    const WAIT_MS = 60_000;
    for (const queue of queues) {
      let timer: NodeJS.Timeout | undefined;
      const waited = h.consumer.waitForWork(queues, WAIT_MS).then(() => 'woken');
      await h.producer.enqueue(newTask(queue));
      // A hang guard, not a speed test: without the signal the wait would last WAIT_MS.
      const outcome = await Promise.race([
        waited,
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no wake-up for ${queue}`), WAIT_MS / 3))),
      ]);
      clearTimeout(timer);
      expect(outcome).toBe('woken');
      const [task] = (await h.consumer.claim(queue, 1)).tasks;
      expect(task.queue).toBe(queue);
      await h.consumer.ack(task, '');
    }
  });
});

/**
 * Calls a replica served to clients, by command: scripts and reads never arrive through replication
 * (a master replicates a script's writes, not the script), so any of these comes from a client.
 */
async function clientCalls(replica: Redis): Promise<Record<string, number>> {
  const CLIENT_ONLY =
    /^cmdstat_(eval|evalsha|eval_ro|evalsha_ro|fcall|hgetall|hmget|hget|get|mget|smembers|sismember|zrange|zrevrange|zrangebyscore|zcard|zscore|zmscore|zcount|lrange|llen|blpop|exists|scan):calls=(\d+)/;
  const out: Record<string, number> = {};
  for (const line of String(await replica.info('commandstats')).split('\r\n')) {
    const match = CLIENT_ONLY.exec(line);
    if (match) out[match[1]] = Number(match[2]);
  }
  return out;
}
