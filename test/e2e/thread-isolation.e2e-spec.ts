import { AppProcess, http, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(120_000);

interface Attempt {
  attempt: number;
  started_at: string;
  finished_at: string | null;
  outcome: string | null;
  error: string | null;
}

interface Task {
  task_id: string;
  status: string;
  attempts: number;
  recoveries: number;
  started_at: string;
  finished_at: string;
  dead_reason: string | null;
  last_error: string | null;
  result: unknown;
  attempts_history: Attempt[];
}

const ms = (iso: string | null) => Date.parse(String(iso));

/**
 * Thread-isolated task types (`@TaskHandler(type, { isolation: 'thread', file })`) in the built worker: the
 * demo's `cpu` (a busy loop) and the fault pack's `thread_chaos`, run from the bundle's own thread files.
 * Leases of one second (renewed every 333 ms), so an event loop blocked for a second loses them.
 */
describe('thread-isolated handlers', () => {
  let stack: Stack;
  let worker: AppProcess;

  beforeAll(async () => {
    stack = new Stack({
      TASK_LEASE_MS: '1000',
      REDIS_COMMAND_TIMEOUT_MS: '600',
      RECOVERY_INTERVAL_MS: '200',
      FAULT_TASKS: 'true',
    });
    await stack.startApi();
    // One thread: a run that is not terminated keeps the next thread-isolated run waiting, which the tests see.
    worker = await stack.startWorker({ WORKER_CONCURRENCY: '4', WORKER_THREADS: '1', WORKER_THREAD_MEMORY_MB: '128' });
  });
  afterAll(async () => {
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
  });

  const finished = (id: string, timeoutMs = 30_000) =>
    stack.waitForStatus(id, ['succeeded', 'dead', 'cancelled'], timeoutMs) as Promise<Task>;

  it('keeps the lease of a 5-second busy loop with a 1-second lease, while other slots keep claiming and finishing', async () => {
    const cpu = await stack.submitOk({ task_type: 'cpu', payload: { ms: 5000 }, max_retries: 0 });
    await stack.waitForStatus(cpu, ['active']);
    // Echo tasks one after another for as long as the loop runs: each must be claimed, run and acked meanwhile.
    const echoes: Task[] = [];
    while ((await stack.task(cpu)).body.status === 'active' && echoes.length < 500) {
      echoes.push(await finished(await stack.submitOk({ task_type: 'echo', payload: echoes.length })));
    }
    const done = await finished(cpu);

    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, recoveries: 0, result: { busy_ms: 5000 } });
    expect(done.attempts_history.map((a) => a.outcome)).toEqual(['succeeded']);
    expect(ms(done.finished_at) - ms(done.started_at)).toBeGreaterThanOrEqual(5000);
    const during = echoes.filter(
      (echo) =>
        echo.status === 'succeeded' &&
        ms(echo.started_at) >= ms(done.started_at) &&
        ms(echo.finished_at) <= ms(done.finished_at),
    );
    expect(during.length).toBeGreaterThan(0);
    expect(worker.logs((l) => l.taskId === cpu && /lease lost|lease expired/i.test(String(l.msg)))).toEqual([]);
    // The run is timed like any other.
    const metrics = await (await fetch(worker.metricsUrl)).text();
    expect(metrics).toMatch(
      /task_run_duration_seconds_count\{task_type="cpu",queue="default",outcome="succeeded"\} [1-9]/,
    );
  });

  it('terminates the thread at the timeout: the run ends as timeout long before the loop would, and the thread is free again', async () => {
    const hung = await stack.submitOk({ task_type: 'cpu', payload: { ms: 5000 }, timeout_ms: 500, max_retries: 0 });
    const dead = await finished(hung);
    expect(dead).toMatchObject({
      status: 'dead',
      dead_reason: 'timeout',
      last_error: 'TaskTimeoutError: timed out after 500 ms',
    });
    const [run] = dead.attempts_history;
    expect(ms(run.finished_at) - ms(run.started_at)).toBeLessThan(5000);
    // The pool's only thread ran the next task before the 5-second loop could have ended: it was terminated.
    const next = await finished(await stack.submitOk({ task_type: 'cpu', payload: { ms: 1 } }));
    expect(next.status).toBe('succeeded');
    expect(ms(next.finished_at)).toBeLessThan(ms(run.started_at) + 5000);
  });

  it('terminates the thread when the task is cancelled while it runs', async () => {
    const id = await stack.submitOk({ task_type: 'cpu', payload: { ms: 30_000 } });
    await stack.waitForStatus(id, ['active']);
    expect((await http('POST', `${stack.api.url}/tasks/${id}/cancel`)).status).toBe(200);
    const cancelled = await finished(id);
    expect(cancelled.status).toBe('cancelled');
    await waitFor(
      async () =>
        worker.logs((l) => l.msg === 'task cancelled while running; run aborted' && l.taskId === id).length > 0,
      {
        what: 'the worker to abort the cancelled run',
      },
    );
    const next = await finished(await stack.submitOk({ task_type: 'cpu', payload: { ms: 1 } }));
    expect(next.status).toBe('succeeded');
    expect(ms(next.finished_at)).toBeLessThan(ms(cancelled.started_at) + 30_000);
  });

  it('fails only the run whose thread dies (uncaught exception, process.exit, out of memory); the worker and its other runs carry on', async () => {
    const crashes = await stack.submitBatch(
      ['timer_throw', 'exit', 'oom'].map((behaviour) => ({
        task_type: 'thread_chaos',
        payload: { behaviour },
        max_retries: 1,
      })),
    );
    const others = await stack.submitBatch([
      { task_type: 'cpu', payload: { ms: 200 }, max_retries: 0 },
      ...Array.from({ length: 10 }, (_, i) => ({ task_type: 'echo', payload: i, max_retries: 0 })),
    ]);
    const dead = await Promise.all(crashes.map((id) => finished(id)));
    for (const [task, cause] of [
      [dead[0], /\(Error: thrown from a timer in the thread running default\.[^)]+\)/],
      [dead[1], /\(Error: worker exited with code: 3\)/],
      [
        dead[2],
        /\(Error: Worker terminated due to reaching memory limit: JS heap out of memory \(WORKER_THREAD_MEMORY_MB=128\)\)/,
      ],
    ] as const) {
      // Retried as any error is, then dead-lettered when the retries are spent.
      expect(task).toMatchObject({ status: 'dead', attempts: 2, recoveries: 0, dead_reason: 'max_retries' });
      expect(task.last_error).toMatch(/^ThreadCrashError: the worker thread running this thread_chaos task died /);
      expect(task.last_error).toMatch(cause);
      expect(task.attempts_history.map((a) => a.outcome)).toEqual(['retried', 'dead']);
    }
    // The uncaught exception's stack is the thread's, naming the handler's source file.
    expect(dead[0].attempts_history[0].error).toMatch(/handlers\/faults\/thread-chaos\.thread\.ts:\d+:\d+/);
    for (const id of others) expect(await finished(id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(worker.running).toBe(true);
  });

  it("records a thread handler's error with its stack in the handler's TypeScript source; NonRetryableError stays permanent", async () => {
    const [thrown, permanent, badResult, context] = await stack.submitBatch([
      { task_type: 'thread_chaos', payload: { behaviour: 'throw' }, max_retries: 0 },
      { task_type: 'thread_chaos', payload: { behaviour: 'non_retryable' }, max_retries: 3 },
      { task_type: 'thread_chaos', payload: { behaviour: 'bad_result' }, max_retries: 3 },
      { task_type: 'thread_chaos', payload: { behaviour: 'context' } },
    ]);
    const failed = await finished(thrown);
    expect(failed.last_error).toBe('Error: planned failure in a thread, attempt 1');
    const firstFrame = String(failed.attempts_history[0].error).split('\n')[1];
    expect(firstFrame).toMatch(/apps\/worker\/src\/handlers\/faults\/thread-chaos\.thread\.ts:\d+:\d+\)?$/);
    expect(failed.attempts_history[0].error).not.toMatch(/\.js:\d+/);
    expect(await finished(permanent)).toMatchObject({
      status: 'dead',
      attempts: 1,
      dead_reason: 'non_retryable',
      last_error: 'NonRetryableError: planned permanent failure in a thread',
    });
    expect(await finished(badResult)).toMatchObject({
      status: 'dead',
      attempts: 1,
      dead_reason: 'non_retryable',
      last_error: 'result is not JSON-serializable: Do not know how to serialize a BigInt',
    });
    expect((await finished(context)).result).toEqual({
      taskId: context,
      taskType: 'thread_chaos',
      queue: 'default',
      attempt: 1,
      maxRetries: 3,
      in_thread: true,
    });
  });

  it('control: the same busy loop on the event loop (chaos busy) loses its lease', async () => {
    // Two workers: the one that claims the task is blocked, the other's recoverer sees its lease expire.
    const control = [
      await stack.startWorker({ WORKER_QUEUES: 'control' }),
      await stack.startWorker({ WORKER_QUEUES: 'control' }),
    ];
    try {
      const id = await stack.submitOk({
        task_type: 'chaos',
        queue: 'control',
        payload: { behaviour: 'busy', ms: 5000 },
      });
      const recovered = (await waitFor(
        async () => {
          const task = (await stack.task(id)).body as Task;
          return task.recoveries >= 1 ? task : undefined;
        },
        { timeoutMs: 30_000, what: 'the blocked run to lose its lease' },
      )) as Task;
      expect(recovered.attempts_history[0]).toMatchObject({ attempt: 1, outcome: 'lease_expired' });
    } finally {
      await Promise.all(control.map((app) => app.stop('SIGKILL')));
    }
  });

  it('refuses to boot with WORKER_THREADS=0 while a task type is thread-isolated, saying what to set', async () => {
    await expect(stack.startWorker({ WORKER_THREADS: '0' })).rejects.toThrow(
      /task types "cpu", "thread_chaos" run in worker threads \(isolation: 'thread'\) but WORKER_THREADS=0: set WORKER_THREADS to 1 or more/,
    );
    // Without thread-isolated types, 0 threads is a valid worker.
    const plain = await stack.startWorker({
      WORKER_THREADS: '0',
      DEMO_TASKS: 'false',
      FAULT_TASKS: 'false',
      WORKER_QUEUES: 'plain',
    });
    await plain.stop('SIGKILL');
  });
});
