import { http } from '@app/testing';
import { Stack } from './harness';
import { keySet } from './keys';

jest.setTimeout(60_000);

/** GET /dlq across queues with a stable cursor; DELETE /dlq only with an explicit queue. */
describe('dead-letter queue over HTTP, across queues', () => {
  const queues = ['alpha', 'beta'];
  let stack: Stack;
  /** Ids of the dead tasks, by queue. */
  const dead: Record<string, string[]> = { alpha: [], beta: [] };

  beforeAll(async () => {
    stack = new Stack();
    await stack.startApi();
    await stack.startWorker({ WORKER_QUEUES: queues.join(','), WORKER_CONCURRENCY: '4' });
    for (let i = 0; i < 3; i++) {
      for (const queue of queues) {
        dead[queue].push(await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0, queue }));
      }
    }
    for (const id of [...dead.alpha, ...dead.beta]) await stack.waitForStatus(id, ['dead']);
  });
  afterAll(() => stack.stop());

  afterEach(async () => {
    for (const queue of queues) expect(await stack.invariant(queue)).toEqual([]);
  });

  const list = (query = '') => http('GET', `${stack.api.url}/dlq${query}`);
  const byDeathNewestFirst = (tasks: { task_id: string; finished_at: string }[]) =>
    [...tasks]
      .sort((a, b) => Date.parse(b.finished_at) - Date.parse(a.finished_at) || (a.task_id < b.task_id ? 1 : -1))
      .map((t) => t.task_id);

  it('lists the dead tasks of every queue, newest first, without ?queue=', async () => {
    const res = await list();
    expect(res.status).toBe(200);
    const ids = res.body.tasks.map((t: { task_id: string }) => t.task_id);
    expect([...ids].sort()).toEqual([...dead.alpha, ...dead.beta].sort());
    expect(ids).toEqual(byDeathNewestFirst(res.body.tasks));
    expect(res.body.next_cursor).toBeNull();
  });

  it('pages with a cursor: every task once, in the same order, while new tasks die meanwhile', async () => {
    const all = (await list()).body.tasks.map((t: { task_id: string }) => t.task_id);
    const first = await list('?limit=4');
    expect(first.body.next_cursor).toMatch(/^\d+:(alpha|beta)\.[0-9a-z]{11,}$/);
    const newcomer = await stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0, queue: 'beta' });
    await stack.waitForStatus(newcomer, ['dead']);
    const second = await list(`?limit=4&cursor=${first.body.next_cursor}`);
    expect(second.body.next_cursor).toBeNull();
    const paged = [...first.body.tasks, ...second.body.tasks].map((t: { task_id: string }) => t.task_id);
    expect(paged).toEqual(all);
    expect((await list()).body.tasks[0].task_id).toBe(newcomer);
    dead.beta.push(newcomer);
  });

  it('lists one queue with ?queue=', async () => {
    const res = await list('?queue=alpha');
    expect(res.body.tasks.map((t: { task_id: string }) => t.task_id).sort()).toEqual([...dead.alpha].sort());
    expect(res.body.tasks.every((t: { queue: string }) => t.queue === 'alpha')).toBe(true);
  });

  it('refuses a cursor that is not a next_cursor', async () => {
    const res = await list('?cursor=50');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'cursor', rule: 'matches' })]);
  });

  it('purges only with an explicit queue, and then only that queue', async () => {
    const before = await keySet(stack.redis, stack.prefix);
    const refused = await http('DELETE', `${stack.api.url}/dlq`);
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: 'queue', rule: 'isPresent', message: 'queue is required' }]);
    expect(await keySet(stack.redis, stack.prefix)).toEqual(before);

    const purged = await http('DELETE', `${stack.api.url}/dlq?queue=alpha`);
    expect(purged).toMatchObject({ status: 200, body: { deleted: dead.alpha.length } });
    const left = (await list()).body.tasks.map((t: { task_id: string }) => t.task_id);
    expect(left.sort()).toEqual([...dead.beta].sort());
  });
});
