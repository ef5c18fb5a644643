import { Test, TestingModule } from '@nestjs/testing';
import {
  checkQueueInvariant,
  createTestRedis,
  deleteByPrefix,
  testQueueOptions,
  TestRedis,
  uniquePrefix,
} from '@app/testing';
import { DeadLetterAdmin, QueueConsumer, QueueInspector, QueueModule, QueueProducer, queueKeys } from '@app/queue';

/** QueueInspector.listDeadAcross on a real Redis: the cross-queue dead-letter listing and its cursor. */
describe('QueueInspector.listDeadAcross', () => {
  const queues = ['qa', 'qb', 'qc'];
  let moduleRef: TestingModule;
  let redis: TestRedis;
  let prefix: string;
  let inspector: QueueInspector;

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('inspector');
    moduleRef = await Test.createTestingModule({
      imports: [QueueModule.forRoot(testQueueOptions(prefix))],
    }).compile();
    await moduleRef.init();
    inspector = moduleRef.get(QueueInspector);
  });
  afterEach(async () => {
    const problems = (await Promise.all(queues.map((queue) => checkQueueInvariant(redis, prefix, queue)))).flat();
    await moduleRef.close();
    await deleteByPrefix(redis, prefix);
    expect(problems).toEqual([]);
  });

  /**
   * Dead-letters one task per entry through the real scripts (enqueue, claim, fail), then sets its
   * death time to the one given, so the test decides the order, ties included.
   */
  async function killed(deaths: [queue: string, deathMs: number][]): Promise<{ id: string; score: number }[]> {
    const producer = moduleRef.get(QueueProducer);
    const consumer = moduleRef.get(QueueConsumer);
    const out: { id: string; score: number }[] = [];
    for (const [queue, deathMs] of deaths) {
      await producer.enqueue({ type: 'echo', queue, payload: deathMs, priority: 0, maxRetries: 0, timeoutMs: 1000 });
      const { tasks } = await consumer.claim(queue, 1);
      await consumer.fail(tasks[0], { action: 'dead', reason: 'max_retries', error: 'boom' });
      await redis.zadd(queueKeys(prefix, queue).dead, 'XX', deathMs, tasks[0].id);
      out.push({ id: tasks[0].id, score: deathMs });
    }
    return out;
  }

  /** Newest death first; equal death times by id, descending (the sorted set's reverse order). */
  const newestFirst = (tasks: { id: string; score: number }[]) =>
    [...tasks].sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : -1)).map((t) => t.id);

  async function readAll(limit: number, only = queues): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await inspector.listDeadAcross(only, limit, cursor);
      ids.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    return { ids, pages };
  }

  it('pages through every queue newest first, ties included, each task exactly once', async () => {
    const dead = await killed([
      ['qa', 1000],
      ['qb', 1000],
      ['qc', 1000],
      ['qa', 3000],
      ['qb', 2000],
      ['qa', 2000],
      ['qc', 5000],
      ['qb', 1000],
      ['qa', 1000],
      ['qc', 4000],
    ]);
    for (const limit of [1, 2, 3, 10, 50]) {
      const { ids, pages } = await readAll(limit);
      expect(ids).toEqual(newestFirst(dead));
      expect(pages).toBe(Math.max(1, Math.ceil(dead.length / limit)));
    }
    const first = await inspector.listDeadAcross(queues, 3);
    expect(first.tasks.map((t) => [t.queue, t.status, t.deadReason])).toEqual([
      ['qc', 'dead', 'max_retries'],
      ['qc', 'dead', 'max_retries'],
      ['qa', 'dead', 'max_retries'],
    ]);
    expect(first.nextCursor).toBe(`3000:${first.tasks[2].id}`);
  });

  it('keeps its place while tasks die and leave meanwhile', async () => {
    const old = await killed([
      ['qa', 1000],
      ['qb', 1100],
      ['qc', 1200],
      ['qa', 1300],
    ]);
    const first = await inspector.listDeadAcross(queues, 2);
    expect(first.tasks.map((t) => t.id)).toEqual(newestFirst(old).slice(0, 2));
    // New deaths come before the cursor (newer), and one task of the first page is requeued away.
    await killed([
      ['qb', 9000],
      ['qc', 9001],
    ]);
    await moduleRef.get(DeadLetterAdmin).requeue(first.tasks[0].id);
    const second = await inspector.listDeadAcross(queues, 2, first.nextCursor!);
    expect(second.tasks.map((t) => t.id)).toEqual(newestFirst(old).slice(2));
    expect(second.nextCursor).toBeNull();
  });

  it('reads past more ties at the cursor than a page holds', async () => {
    const dead = await killed(Array.from({ length: 9 }, (): [string, number] => ['qa', 7000]));
    expect((await readAll(2, ['qa'])).ids).toEqual(newestFirst(dead));
  });

  it('lists one queue when asked, and nothing for a queue without dead tasks', async () => {
    const dead = await killed([
      ['qa', 1000],
      ['qb', 2000],
      ['qa', 3000],
    ]);
    expect((await readAll(10, ['qa'])).ids).toEqual(newestFirst(dead.filter((_, i) => i !== 1)));
    expect(await inspector.listDeadAcross(['nothere'], 10)).toEqual({ tasks: [], nextCursor: null });
    expect(await inspector.listDeadAcross([], 10)).toEqual({ tasks: [], nextCursor: null });
  });
});
