import { randomUUID } from 'node:crypto';
import {
  KEY_SCHEMA_VERSION,
  queueKeys,
  queueRegistryKey,
  schemaVersionKey,
  WorkerReport,
  workerRegistryKey,
} from '@app/queue';
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
describe('the key schema migration run by the built worker', () => {
  let stack: Stack;

  beforeEach(() => {
    stack = new Stack();
  });
  afterEach(async () => {
    await stack.stop();
  });

  /** A waiting task as the v1 scripts wrote it: every field stored, queued in the sorted set. */
  async function seedV1Backlog(count = TASKS): Promise<string[]> {
    const keys = queueKeys(stack.prefix, QUEUE);
    const ids = Array.from({ length: count }, () => `${QUEUE}.${randomUUID()}`);
    const now = Date.now();
    for (let first = 0; first < count; first += 1000) {
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
    await stack.redis.set(keys.seq, count);
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
      timeout_ms: '30000',
      status: 'queued',
      created_at: expect.any(String),
    });
    expect(await checkQueueInvariant(stack.redis, stack.prefix, QUEUE)).toEqual([]);
    const done = stack.workers[1].logs((line) => line.msg === 'key schema migrated to this release');
    expect(done).toEqual([expect.objectContaining({ outcome: 'migrated', moved: expect.any(Number) })]);
  });

  it('starts nothing while a worker of an earlier release is alive, then migrates and runs the backlog', async () => {
    const ids = await seedV1Backlog(300);
    const keys = queueKeys(stack.prefix, QUEUE);
    const registry = workerRegistryKey(stack.prefix);
    // A worker of the release before schema 3 as it reports itself: no `schema` in its report.
    const earlierId = 'earlier-host:1:abcdef';
    const reportEarlier = () => {
      const now = Date.now();
      const report: WorkerReport = {
        id: earlierId,
        host: 'earlier-host',
        pid: 1,
        queues: [QUEUE],
        concurrency: 10,
        inFlight: 0,
        startedAt: now,
        lastSeen: now,
      };
      return stack.redis.hset(registry, earlierId, JSON.stringify(report));
    };
    await reportEarlier();
    const alive = setInterval(() => void reportEarlier().catch(() => undefined), 200);
    // A 6 s lease: the worker looks at the registry every 2 s.
    const worker = await stack.startWorker({ WORKER_QUEUES: QUEUE, TASK_LEASE_MS: '6000' }).catch((error) => {
      clearInterval(alive);
      throw error;
    });
    try {
      await waitFor(
        () => worker.logs((line) => String(line.msg).includes('of an earlier release are running')).length > 0,
        {
          timeoutMs: 30_000,
          what: 'the worker to boot and see the earlier worker',
        },
      );
      // Two more looks at the registry (its own report refreshed twice) and still nothing started.
      const seen = Date.now();
      await waitFor(
        async () => {
          const own = Object.entries(await stack.redis.hgetall(registry)).find(([id]) => id !== earlierId);
          return own !== undefined && (JSON.parse(own[1]) as WorkerReport).lastSeen > seen + 4000;
        },
        { timeoutMs: 30_000, what: 'two heartbeats of the waiting worker' },
      );
      expect(await stack.redis.exists(schemaVersionKey(stack.prefix))).toBe(0);
      expect(await claimOrder()).toEqual(ids);
      expect(await stack.redis.zcard(keys.active)).toBe(0);
      expect(await stack.redis.hget(`${keys.taskPrefix}${ids[0]}`, 'attempts')).toBe('0');
    } finally {
      clearInterval(alive);
    }

    // The earlier worker stops (its entry removed, as at its shutdown): the new one migrates and runs everything.
    await stack.redis.hdel(registry, earlierId);
    await waitFor(
      async () =>
        (await stack.redis.get(schemaVersionKey(stack.prefix))) === String(KEY_SCHEMA_VERSION) &&
        (await claimOrder()).length === 0 &&
        (await stack.redis.zcard(keys.active)) === 0,
      { timeoutMs: 60_000, intervalMs: 100, what: 'the worker to migrate and drain the backlog' },
    );
    expect(await stack.redis.zcard(keys.succeeded)).toBe(ids.length);
    expect(worker.logs((line) => String(line.msg).startsWith('the earlier workers stopped'))).toHaveLength(1);
    expect(await checkQueueInvariant(stack.redis, stack.prefix, QUEUE)).toEqual([]);
  });
});
