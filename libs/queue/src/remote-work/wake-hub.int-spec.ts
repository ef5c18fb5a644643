import { createTestRedis, testQueueOptions, TestRedis, uniquePrefix, waitFor } from '@app/testing';
import { queueKeys } from '../keys/queue-keys';
import { WakeHub } from './wake-hub';

/** The long-poll wake-ups of HTTP workers (the api's WakeHub), on a real Redis. */
describe('WakeHub', () => {
  let redis: TestRedis;
  let hub: WakeHub;
  const prefix = uniquePrefix('wake-hub');
  const options = testQueueOptions(prefix, { connectionName: `wake-hub-${process.pid}` });

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterEach(async () => {
    await hub?.close();
  });
  afterAll(() => redis.disconnect());

  it('wakes every request waiting on a queue when its wake marker arrives, long before their time is up', async () => {
    hub = new WakeHub(options);
    const woken: number[] = [];
    const waits = [0, 1, 2].map((i) =>
      hub.wait(['emails', 'other'], hub.mark(['emails', 'other']), 60_000).then(() => woken.push(i)),
    );
    // The marker a submit pushes (as the enqueue script does); a watcher not blocking yet pops it when it does.
    await redis.rpush(queueKeys(prefix, 'emails').wake, '1');
    await waitFor(async () => (woken.length === 3 ? true : undefined), {
      timeoutMs: 5000,
      what: 'all three waits to end',
    });
    await Promise.all(waits);
  });

  it('returns at once when a marker came between the mark and the wait', async () => {
    hub = new WakeHub(options);
    // A first wait starts the watcher; its marker bumps the generation a later mark is compared with.
    const mark = hub.mark(['emails']);
    const first = hub.wait(['emails'], mark, 60_000);
    await redis.rpush(queueKeys(prefix, 'emails').wake, '1');
    await first;
    let ended = false;
    const second = hub.wait(['emails'], mark, 60_000).then(() => (ended = true));
    await waitFor(async () => ended || undefined, { timeoutMs: 2000, what: 'the stale-marked wait to return' });
    await second;
  });

  it('watches at most its bound of queues, however many a claim names; the rest wait out their slice', async () => {
    hub = new WakeHub(options, 4);
    const queues = Array.from({ length: 10 }, (_, i) => `ghost-${i}`);
    const waiting = hub.wait(queues, hub.mark(queues), 60_000);
    expect(hub.watchedQueues).toBe(4);
    // The first four named are watched: a marker on one of them ends the wait.
    let ended = false;
    void waiting.then(() => (ended = true));
    await redis.rpush(queueKeys(prefix, 'ghost-2').wake, '1');
    await waitFor(async () => ended || undefined, { timeoutMs: 5000, what: 'the wait to end on a watched queue' });
  });
});
