import { randomUUID } from 'node:crypto';
import { KEY_SCHEMA_VERSION, queueKeys, queueRegistryKey, schemaVersionKey } from '@app/queue';
import { checkQueueInvariant, waitFor } from '@app/testing';
import { Stack } from './harness';

// The second worker waits out the killed one's lock (MIGRATION_LOCK_MS, 10 s) before it goes on.
jest.setTimeout(120_000);

const TASKS = 10_000;
const QUEUE = 'legacy';
/** Priority 0's band of the queued set, as the v1 scripts scored it: `(100 - 0) * 2^45 + sequence`. */
const BAND0 = 100 * 2 ** 45;

/**
 * The key schema migration (ADR 12) run by the built worker at boot, killed with SIGKILL in the middle:
 * nothing is lost or doubled and the waiting order holds at the instant of the kill, and the next worker
 * takes over once the lock lapses and finishes it.
 */
describe('the key schema migration across a kill -9 of the worker running it', () => {
  let stack: Stack;

  beforeEach(() => {
    stack = new Stack();
  });
  afterEach(async () => {
    await stack.stop();
  });

  /** A waiting task as the v1 scripts wrote it: every field stored, queued in the sorted set. */
  async function seedV1Backlog(): Promise<string[]> {
    const keys = queueKeys(stack.prefix, QUEUE);
    const ids = Array.from({ length: TASKS }, () => `${QUEUE}.${randomUUID()}`);
    const now = Date.now();
    for (let first = 0; first < TASKS; first += 1000) {
      const pipeline = stack.redis.pipeline();
      ids.slice(first, first + 1000).forEach((id, j) => {
        const at = String(now + first + j);
        pipeline.hset(`${keys.taskPrefix}${id}`, {
          type: 'echo',
          payload: JSON.stringify({ n: first + j }),
          priority: '0',
          max_retries: '3',
          timeout_ms: '30000',
          attempts: '0',
          recoveries: '0',
          status: 'queued',
          created_at: at,
          next_run_at: at,
        });
        pipeline.zadd(keys.queued, BAND0 + first + j + 1, id);
      });
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    }
    await stack.redis.set(keys.seq, TASKS);
    await stack.redis.sadd(queueRegistryKey(stack.prefix), QUEUE);
    return ids;
  }

  /** The waiting tasks in the order claims take them: the set's priority-0 entries, then the ready list. */
  async function claimOrder(): Promise<string[]> {
    const keys = queueKeys(stack.prefix, QUEUE);
    return [...(await stack.redis.zrange(keys.queued, 0, -1)), ...(await stack.redis.lrange(keys.ready, 0, -1))];
  }

  it('loses and doubles nothing when the migrating worker is killed, and the next worker finishes it', async () => {
    const ids = await seedV1Backlog();
    const keys = queueKeys(stack.prefix, QUEUE);
    // The worker serves another queue: only the migration touches this one.
    const victim = await stack.startWorker({ WORKER_QUEUES: 'default', KEY_MIGRATION_BATCH: '1' });
    await waitFor(async () => (await stack.redis.llen(keys.ready)) > 0, {
      timeoutMs: 30_000,
      intervalMs: 2,
      what: 'the worker to boot and its migration to start moving tasks',
    });
    expect(await victim.stop('SIGKILL')).toBeNull();

    // Killed mid-way: some tasks moved, some not, every one once, in the order it had.
    expect(await stack.redis.zcard(keys.queued)).toBeGreaterThan(0);
    expect(await claimOrder()).toEqual(ids);
    expect(await stack.redis.exists(schemaVersionKey(stack.prefix))).toBe(0);
    expect(await checkQueueInvariant(stack.redis, stack.prefix, QUEUE)).toEqual([]);

    await stack.startWorker({ WORKER_QUEUES: 'default', KEY_MIGRATION_BATCH: '50' });
    await waitFor(async () => (await stack.redis.get(schemaVersionKey(stack.prefix))) === String(KEY_SCHEMA_VERSION), {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: 'the next worker to finish the migration',
    });
    expect(await stack.redis.zcard(keys.queued)).toBe(0);
    expect(await stack.redis.lrange(keys.ready, 0, -1)).toEqual(ids);
    expect(await stack.redis.hget(keys.meta, 'ready_head')).toBe(String(-TASKS));
    const sample = await stack.redis.hgetall(`${keys.taskPrefix}${ids[TASKS - 1]}`);
    expect(sample).toEqual({
      type: 'echo',
      payload: JSON.stringify({ n: TASKS - 1 }),
      max_retries: '3',
      timeout_ms: '30000',
      status: 'queued',
      created_at: expect.any(String),
    });
    expect(await checkQueueInvariant(stack.redis, stack.prefix, QUEUE)).toEqual([]);
    const done = stack.workers[1].logs((line) => line.msg === 'key schema migrated to this release');
    expect(done).toEqual([expect.objectContaining({ outcome: 'migrated', moved: expect.any(Number) })]);
  });
});
