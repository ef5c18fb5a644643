import { Test, TestingModule } from '@nestjs/testing';
import { checkQueueInvariant, createTestRedis, newTask, QueueHarness, TestRedis } from '@app/testing';
import { prng } from '../../../test/faults/harness';
import { QueueErrorCode, QueueModule, QueueProducer, queueKeys, queueRegistryKey } from '@app/queue';

/** Resolves after `n` turns of the event loop: spreads two racing calls' commands over each other. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Forgetting a queue (DELETE /queues/{name}) against submits to it, on a real Redis: the registry is
 * one key and the queue's keys live in another slot, so no one script decides both. Each round makes
 * an empty queue, then forgets it while a submit writes to it, from two connections and with the
 * calls' starts shifted at random. Whatever wins, a task that was written is in a listed queue, and a
 * queue that is not listed has nothing left.
 */
describe('forgetting a queue while tasks are submitted to it', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  /** A second api replica: its own module and connection, on the same prefix. */
  let other: TestingModule;

  beforeAll(async () => {
    redis = createTestRedis();
    // No retention: a queue whose task has run is empty again.
    h = await QueueHarness.boot({ resultTtlSeconds: 0 });
    other = await Test.createTestingModule({ imports: [QueueModule.forRoot(h.options)] }).compile();
    await other.init();
  });
  afterAll(async () => {
    await other.close();
    await h.close(redis);
    await redis.quit();
  });

  it('leaves no task in an unlisted queue over 150 races, through both the registering and the trusting path', async () => {
    const rnd = prng(20261204);
    const registry = queueRegistryKey(h.prefix);
    const replica = other.get(QueueProducer);
    const outcomes = { forgotten: 0, refused: 0 };
    const problems: string[] = [];
    for (let round = 0; round < 150; round++) {
      const queue = `race-${round}`;
      // An empty queue that exists: its one task ran and left nothing (RESULT_TTL_SECONDS 0).
      await h.producer.enqueue(newTask(queue));
      const [run] = (await h.consumer.claim(queue, 1)).tasks;
      await h.consumer.ack(run, '');
      // Even rounds: the harness' producer, which trusts the queue registered (it just wrote to it) and
      // skips registering; odd rounds: the replica, which registers it first.
      const producer = round % 2 === 0 ? h.producer : replica;
      const [forget, submit] = await Promise.allSettled([
        turns(Math.floor(rnd() * 6)).then(() => h.admin.forget(queue)),
        turns(Math.floor(rnd() * 6)).then(() => producer.enqueue(newTask(queue))),
      ]);
      if (submit.status === 'rejected') throw submit.reason;
      if (forget.status === 'rejected') {
        expect(forget.reason).toMatchObject({ code: QueueErrorCode.WrongState });
        outcomes.refused++;
      } else {
        outcomes.forgotten++;
      }
      const keys = queueKeys(h.prefix, queue);
      const [listed, queued, marked, status] = await Promise.all([
        redis.sismember(registry, queue),
        redis.zcard(keys.queued).then(async (n) => n + (await redis.llen(keys.ready))),
        redis.exists(keys.seq),
        redis.hget(`${keys.taskPrefix}${submit.value.id}`, 'status'),
      ]);
      if (status !== 'queued') problems.push(`round ${round}: the submitted task is ${status}`);
      if (listed !== 1)
        problems.push(`round ${round}: task ${submit.value.id} is in queue ${queue}, which is not listed`);
      if (queued !== 1) problems.push(`round ${round}: ${queued} queued tasks`);
      if (marked !== 1) problems.push(`round ${round}: a listed queue with tasks has no registration mark`);
      // Drain it, so the next rounds' queues are the only ones with work.
      const [left] = (await h.consumer.claim(queue, 1)).tasks;
      await h.consumer.ack(left, '');
      expect(await checkQueueInvariant(redis, h.prefix, queue)).toEqual([]);
    }
    expect(problems).toEqual([]);
    // Both orders happened: some forgets came first (the submit registered the queue anew), some after.
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.forgotten).toBeGreaterThan(0);
  }, 120_000);

  it('refuses controls on a queue that does not exist, and creates none', async () => {
    for (const call of [
      () => h.admin.pause('never-made'),
      () => h.admin.resume('never-made'),
      () => h.admin.setLimits('never-made', { rate: null, concurrency: 2 }),
      () => h.admin.forget('never-made'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
    }
    expect(await redis.sismember(queueRegistryKey(h.prefix), 'never-made')).toBe(0);
    expect(await redis.exists(queueKeys(h.prefix, 'never-made').meta)).toBe(0);
  });

  it('applies controls to a queue a worker registered before any task (no registration mark yet)', async () => {
    await h.consumer.register(['served']);
    await h.admin.setLimits('served', { rate: { max: 5, perMs: 1000 }, concurrency: 3 });
    await h.admin.pause('served');
    expect((await h.inspector.stats('served')).controls).toEqual({
      paused: true,
      rate: { max: 5, perMs: 1000 },
      concurrency: 3,
    });
  });
});
