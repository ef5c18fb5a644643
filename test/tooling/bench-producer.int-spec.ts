import { randomUUID } from 'node:crypto';
import { createTestRedis, deleteByPrefix, TEST_REDIS_URL, testRedisConnection, TestRedis } from '@app/testing';

// The benchmark's own producer (bench/lib/ours.js builds one from the source, outside Nest): a constructor
// that changes shape must fail here, not halfway through `npm run bench`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ours = require('../../bench/lib/ours') as {
  createProducer(target: string | { nodes: { host: string; port: number }[] }, prefix: string): BenchProducer;
  echoTask(payload: unknown): unknown;
  load(): { queueKeys(prefix: string, queue: string): { ready: string } };
  queueCounts(client: TestRedis, prefix: string, queue: string): Promise<Record<string, number>>;
};
interface BenchProducer {
  enqueueMany(tasks: unknown[]): Promise<{ id: string }[]>;
  close(): Promise<unknown>;
}

describe("the benchmark's producer (bench/lib/ours.js)", () => {
  const prefix = `bench-producer-${randomUUID().slice(0, 8)}`;
  // The bench takes a URL or a Cluster's nodes; on the Sentinel pass, the machine's Redis by URL.
  const connection = testRedisConnection();
  const target = connection.mode === 'cluster' ? { nodes: connection.nodes } : TEST_REDIS_URL;
  let redis: TestRedis;
  beforeAll(() => {
    redis = createTestRedis(connection.mode === 'cluster' ? connection : TEST_REDIS_URL);
  });
  afterAll(async () => {
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  });

  it('enqueues a bulk of echo tasks as the drain scenario prefills', async () => {
    const producer = ours.createProducer(target, prefix);
    try {
      const tasks = Array.from({ length: 100 }, (_, n) => ours.echoTask({ n }));
      const written = await producer.enqueueMany(tasks);
      expect(written).toHaveLength(100);
      expect(await redis.llen(ours.load().queueKeys(prefix, 'default').ready)).toBe(100);
      // What the drain scenarios wait on: every prefilled task counts as waiting, wherever it waits.
      expect(await ours.queueCounts(redis, prefix, 'default')).toEqual({
        waiting: 100,
        active: 0,
        succeeded: 0,
        dead: 0,
        archive: 0,
      });
    } finally {
      await producer.close();
    }
  });
});
