import { taskKey } from '@app/queue';
import { Stack } from './harness';

jest.setTimeout(90_000);

describe('worker crashes, shutdown and timeouts', () => {
  let stack: Stack;

  beforeEach(async () => {
    stack = new Stack({ TASK_LEASE_MS: '1500', REDIS_COMMAND_TIMEOUT_MS: '900', RECOVERY_INTERVAL_MS: '200' });
    await stack.startApi();
  });
  afterEach(async () => {
    expect(await stack.invariant()).toEqual([]);
    await stack.stop();
  });

  it('brings a task back after its worker is killed with SIGKILL, without burning a retry', async () => {
    const victim = await stack.startWorker();
    const id = await stack.submitOk({ task_type: 'sleep', payload: { ms: 3000 }, max_retries: 0 });
    await stack.waitForStatus(id, ['active']);
    expect(await victim.stop('SIGKILL')).toBeNull();

    await stack.startWorker();
    const done = await stack.waitForStatus(id, ['succeeded'], 30_000);
    // max_retries 0: only a recovery that does not count as a failed attempt can get it here.
    expect(done).toMatchObject({ attempts: 1, recoveries: 1, result: { slept_ms: 3000 } });
    const metrics = await (await fetch(stack.workers[1].metricsUrl)).text();
    expect(metrics).toMatch(/tasks_recovered_total\{task_type="sleep",queue="default"\} 1/);
  });

  it('loses nothing on SIGTERM: in-flight tasks finish or are released back, exit code 0', async () => {
    const first = await stack.startWorker({ WORKER_CONCURRENCY: '4', SHUTDOWN_GRACE_MS: '400' });
    // Longer than the grace period: these must be released, not lost.
    const long = await stack.submitBatch(
      Array.from({ length: 4 }, () => ({ task_type: 'sleep', payload: { ms: 60_000 } })),
    );
    await Promise.all(long.map((id) => stack.waitForStatus(id, ['active'])));
    const short = await stack.submitBatch(
      Array.from({ length: 20 }, (_, i) => ({ task_type: 'sleep', payload: { ms: 50 + (i % 3) * 50 } })),
    );
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.logs((l) => l.msg === 'worker pool stopped')).toHaveLength(1);
    const released = first.logs((l) => l.msg === 'grace period over; task released back to its queue');
    expect(released.map((l) => l.taskId).sort()).toEqual([...long].sort());
    for (const id of long) {
      expect(await stack.redis.hmget(taskKey(stack.prefix, id)!, 'status', 'releases', 'attempts')).toEqual([
        'queued',
        '1',
        '0',
      ]);
    }
    // A released run is neither a failure nor a retry.
    expect(first.logs((l) => /dead-lettered|retry in/.test(String(l.msg)))).toEqual([]);

    await stack.startWorker({ WORKER_CONCURRENCY: '8' });
    const finished = await Promise.all(short.map((id) => stack.waitForStatus(id, ['succeeded'], 30_000)));
    expect(finished.every((t) => t.attempts === 1)).toBe(true);
  });

  it('aborts a hanging handler at its timeout, retries, dead-letters with reason timeout; other slots keep working', async () => {
    await stack.startWorker({ WORKER_CONCURRENCY: '2' });
    const hung = await stack.submitOk({
      task_type: 'sleep',
      payload: { ms: 600_000 },
      timeout_ms: 300,
      max_retries: 1,
    });
    const quick = await Promise.all(
      Array.from({ length: 10 }, (_, i) => stack.submitOk({ task_type: 'echo', payload: i })),
    );
    await Promise.all(quick.map((id) => stack.waitForStatus(id, ['succeeded'])));
    const dead = await stack.waitForStatus(hung, ['dead'], 20_000);
    expect(dead).toMatchObject({
      attempts: 2,
      dead_reason: 'timeout',
      last_error: 'TaskTimeoutError: timed out after 300 ms',
    });
  });
});
