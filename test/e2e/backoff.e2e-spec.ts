import { http, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(120_000);

interface Attempt {
  attempt: number;
  started_at: string;
  finished_at: string;
  outcome: string;
}

/** Retry backoff over HTTP: a task's own (backoff on submit), its type's, and what the api refuses. */
describe('retry backoff over HTTP', () => {
  let stack: Stack;

  beforeEach(async () => {
    stack = new Stack();
    await stack.startApi();
  });
  afterEach(async () => {
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
  });

  const ms = (iso: string) => Date.parse(iso);

  it('retries a task with delays_ms at exactly those delays, the last one repeating', async () => {
    const id = await stack.submitOk({
      task_type: 'fail',
      payload: {},
      max_retries: 5,
      backoff: { delays_ms: [300, 700, 600_000] },
    });
    const worker = await stack.startWorker();
    // Held after its third failure: the third delay is 10 minutes.
    const task = await waitFor(
      async () => {
        const res = await stack.task(id);
        return res.body.status === 'retrying' && res.body.attempts === 3 ? res.body : undefined;
      },
      { timeoutMs: 30_000, what: 'the third failure' },
    );
    expect(task.backoff).toEqual({ delays_ms: [300, 700, 600_000] });
    const runs: Attempt[] = task.attempts_history;
    expect(runs.map((run) => [run.attempt, run.outcome])).toEqual([
      [1, 'retried'],
      [2, 'retried'],
      [3, 'retried'],
    ]);
    // Each retry was due its delay after the failure before it (Redis' clock for both), so it started no earlier.
    expect(ms(runs[1].started_at) - ms(runs[0].finished_at)).toBeGreaterThanOrEqual(300);
    expect(ms(runs[2].started_at) - ms(runs[1].finished_at)).toBeGreaterThanOrEqual(700);
    expect(ms(task.next_run_at) - ms(runs[2].finished_at)).toBe(600_000);
    // The worker chose exactly these delays (its log line per retry).
    const delays = worker
      .logs((line) => line.taskId === id && /^task failed; retry in/.test(String(line.msg)))
      .map((line) => Number(/retry in (\d+) ms/.exec(String(line.msg))![1]));
    expect(delays).toEqual([300, 700, 600_000]);
    await http('POST', `${stack.api.url}/tasks/${id}/cancel`);
  });

  it("retries with the task type's own backoff, not the deployment's default (per-type backoff)", async () => {
    // The deployment default would wait up to 10 minutes; the fail type's own is 200 ms doubling, capped at 2 s.
    const worker = await stack.startWorker({ RETRY_BACKOFF_BASE_MS: '600000', RETRY_BACKOFF_MAX_MS: '600000' });
    const id = await stack.submitOk({ task_type: 'fail', payload: { fail_times: 3 }, max_retries: 3 });
    const done = await stack.waitForStatus(id, ['succeeded'], 30_000);
    expect(done.backoff).toBeNull();
    const delays = worker
      .logs((line) => line.taskId === id && /^task failed; retry in/.test(String(line.msg)))
      .map((line) => Number(/retry in (\d+) ms/.exec(String(line.msg))![1]));
    // Full jitter under 200 * 2^(n-1): three draws from the default's 10 minutes would all fit with odds ~1e-10.
    expect(delays).toHaveLength(3);
    delays.forEach((delay, i) => expect(delay).toBeLessThan(200 * 2 ** i));
    const runs: Attempt[] = done.attempts_history;
    for (let i = 1; i < runs.length; i++) {
      expect(ms(runs[i].started_at) - ms(runs[i - 1].finished_at)).toBeGreaterThanOrEqual(delays[i - 1]);
    }
  });

  it('shows the backoff a task was given, and refuses a bad one naming the field', async () => {
    const curve = await stack.submitOk({
      task_type: 'echo',
      payload: 1,
      delay_ms: 600_000,
      backoff: { type: 'exponential', base_ms: 500, max_ms: 60_000, jitter: true },
    });
    const fixed = await stack.submitOk({
      task_type: 'echo',
      payload: 2,
      delay_ms: 600_000,
      backoff: { type: 'fixed', base_ms: 750 },
    });
    expect((await stack.task(curve)).body.backoff).toEqual({
      type: 'exponential',
      base_ms: 500,
      max_ms: 60_000,
      jitter: true,
    });
    expect((await stack.task(fixed)).body.backoff).toEqual({ type: 'fixed', base_ms: 750, jitter: false });
    const cases: [unknown, string, string][] = [
      [{ type: 'fixed' }, 'backoff.base_ms', 'isPresent'],
      [{ type: 'linear', base_ms: 10 }, 'backoff.type', 'isIn'],
      [{ type: 'fixed', base_ms: 0 }, 'backoff.base_ms', 'min'],
      [{ type: 'fixed', base_ms: 1.5 }, 'backoff.base_ms', 'isInt'],
      [{ type: 'exponential', base_ms: 10, max_ms: 604_800_001 }, 'backoff.max_ms', 'max'],
      [{ type: 'exponential', base_ms: 1000, max_ms: 999 }, 'backoff.max_ms', 'atLeastBaseMs'],
      [{ type: 'fixed', base_ms: 10, jitter: 'yes' }, 'backoff.jitter', 'isBoolean'],
      [{ type: 'fixed', base_ms: 10, colour: 1 }, 'backoff.colour', 'unknownField'],
      [{ delays_ms: [] }, 'backoff.delays_ms', 'arrayMinSize'],
      [{ delays_ms: Array(101).fill(1) }, 'backoff.delays_ms', 'arrayMaxSize'],
      [{ delays_ms: [1, -1] }, 'backoff.delays_ms', 'min'],
      [{ delays_ms: [1], base_ms: 5 }, 'backoff.base_ms', 'unknownField'],
      [[1000], 'backoff', 'isObject'],
      [null, 'backoff', 'isObject'],
    ];
    for (const [backoff, field, rule] of cases) {
      const res = await stack.submit({ task_type: 'echo', payload: 1, backoff });
      expect([backoff, res.status, res.body.errors]).toEqual([
        backoff,
        400,
        expect.arrayContaining([expect.objectContaining({ field, rule })]),
      ]);
    }
    // Per item in a batch, named by its place.
    const batch = await http('POST', `${stack.api.url}/submit/batch`, {
      tasks: [
        { task_type: 'echo', payload: 1 },
        { task_type: 'echo', payload: 1, backoff: { delays_ms: [5, 'x'] } },
      ],
    });
    expect(batch).toMatchObject({
      status: 400,
      body: {
        errors: expect.arrayContaining([
          { field: 'tasks.1.backoff.delays_ms', rule: 'isInt', message: expect.any(String) },
        ]),
      },
    });
    for (const id of [curve, fixed]) await http('POST', `${stack.api.url}/tasks/${id}/cancel`);
  });
});
