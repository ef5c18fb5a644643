import { http, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(90_000);

describe('worker crashes, shutdown and timeouts', () => {
  let stack: Stack;

  beforeEach(async () => {
    stack = new Stack({ TASK_LEASE_MS: '1500', RECOVERY_INTERVAL_MS: '200' });
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

  it('loses nothing on SIGTERM: in-flight tasks finish or go back, exit code 0', async () => {
    const first = await stack.startWorker({ WORKER_CONCURRENCY: '4', SHUTDOWN_GRACE_MS: '400' });
    const res = await http('POST', `${stack.api.url}/submit/batch`, {
      tasks: [
        ...Array.from({ length: 20 }, (_, i) => ({ task_type: 'sleep', payload: { ms: 100 + (i % 3) * 50 } })),
        // Longer than the grace period: these must be released, not lost.
        ...Array.from({ length: 4 }, () => ({ task_type: 'sleep', payload: { ms: 2500 } })),
      ],
    });
    const ids: string[] = res.body.task_ids;
    await waitFor(
      async () => (await Promise.all(ids.map((id) => stack.task(id)))).some((t) => t.body.status === 'succeeded'),
      {
        what: 'some tasks to finish',
      },
    );
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.logs((l) => l.msg === 'worker pool stopped')).toHaveLength(1);

    await stack.startWorker({ WORKER_CONCURRENCY: '8' });
    const finished = await Promise.all(ids.map((id) => stack.waitForStatus(id, ['succeeded'], 30_000)));
    expect(finished).toHaveLength(24);
    // Released tasks did not burn an attempt; no task ran past its first attempt.
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
