import { http, masterNodes, scanNode } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(60_000);

/**
 * One worker serving 6 queues through the built apps, in every TEST_REDIS_MODE: on a Redis Cluster
 * the queues sit on every master, so submits, the worker's per-queue waits, listings, counts and the
 * dead-letter queue all cross nodes.
 */
describe('6 queues over HTTP (on every master of a cluster)', () => {
  const queues = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack({ WORKER_QUEUES: queues.join(','), RETRY_BACKOFF_BASE_MS: '10', RETRY_BACKOFF_MAX_MS: '20' });
    await stack.startApi();
    await stack.startWorker({ WORKER_CONCURRENCY: '8' });
  });
  afterAll(() => stack.stop());

  it('runs tasks of every queue, one by one and in a batch spanning all queues, and counts them per queue', async () => {
    const singles = await Promise.all(
      queues.map((queue) => stack.submitOk({ task_type: 'echo', payload: queue, queue })),
    );
    const batch = await stack.submitBatch(
      queues.flatMap((queue) => [1, 2].map((n) => ({ task_type: 'echo', payload: n, queue }))),
    );
    for (const id of [...singles, ...batch]) await stack.waitForStatus(id, ['succeeded']);
    expect((await stack.task(singles[2])).body).toMatchObject({ queue: 'charlie', result: 'charlie' });

    const listed = await http('GET', `${stack.api.url}/queues`);
    const counts = Object.fromEntries(
      listed.body.queues.map((q: { queue: string; counts: { succeeded: number } }) => [q.queue, q.counts.succeeded]),
    );
    expect(counts).toEqual(Object.fromEntries(queues.map((queue) => [queue, 3])));
    expect(await stack.invariantAll({ requireFinished: true })).toEqual([]);
    // On a cluster the queues are spread over every master (alpha, charlie and foxtrot hash to the first
    // third of the slots, bravo and delta to the second, echo to the last).
    const masters = await masterNodes(stack.redis);
    const holding = await Promise.all(
      masters.map(async (node) => (await scanNode(node, `${stack.prefix}:*`)).length > 0),
    );
    expect(holding.filter(Boolean)).toHaveLength(Math.min(3, masters.length));
  });

  it('dead-letters per queue and purges one queue without touching the others', async () => {
    const dead = await Promise.all(
      queues.map((queue) => stack.submitOk({ task_type: 'fail', payload: {}, max_retries: 0, queue })),
    );
    for (const id of dead) await stack.waitForStatus(id, ['dead']);
    const listed = await http('GET', `${stack.api.url}/dlq?queue=delta`);
    expect(listed.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([dead[3]]);
    expect((await http('DELETE', `${stack.api.url}/dlq?queue=delta`)).body).toEqual({ deleted: 1 });
    const after = await http('GET', `${stack.api.url}/queues`);
    const deadCounts = Object.fromEntries(
      after.body.queues.map((q: { queue: string; counts: { dead: number } }) => [q.queue, q.counts.dead]),
    );
    expect(deadCounts).toEqual(Object.fromEntries(queues.map((queue) => [queue, queue === 'delta' ? 0 : 1])));
    expect(await stack.invariantAll({ requireFinished: true })).toEqual([]);
  });
});
