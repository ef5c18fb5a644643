import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { NonRetryableError } from '@app/contracts';
import { ClaimedTask } from '@app/queue';
import { WorkerOptions } from '../config/worker.options';
import { TaskHandlerExplorer, ThreadHandler } from '../dispatch/task-handler.explorer';
import { encodeResult } from '@app/queue';
import { ActiveRun } from '../run/active-run';
import { CancelledError, describeError, errorDetail, TaskTimeoutError } from '../run/run-errors';
import { ThreadCrashError } from './thread-crash.error';
import { TaskThreadPool } from './task-thread-pool';

jest.setTimeout(60_000);

// The worker app's thread modules (the demo's cpu, the fault pack's thread_chaos) serve as fixtures, by path.
const HANDLERS = join(__dirname, '..', '..', '..', '..', 'apps', 'worker', 'src', 'handlers');
const cpu: ThreadHandler = {
  type: 'cpu',
  isolation: 'thread',
  file: join(HANDLERS, 'demo', 'cpu.thread.ts'),
  exportName: 'default',
  name: 'CpuHandler',
  contract: undefined as never,
};
const chaos: ThreadHandler = {
  ...cpu,
  type: 'thread_chaos',
  file: join(HANDLERS, 'faults', 'thread-chaos.thread.ts'),
  name: 'ThreadChaosHandler',
};

/** The pool over real worker threads, running the demo and fault-pack modules from source (ts-node in each thread). */
function poolOf(handlers: ThreadHandler[], threads: WorkerOptions['threads']): TaskThreadPool {
  const explorer = { threadHandlers: () => handlers } as unknown as TaskHandlerExplorer;
  return new TaskThreadPool(explorer, { threads } as WorkerOptions);
}

let taskNumber = 0;
function runOf(type: string): ActiveRun {
  const task = {
    id: `default.${++taskNumber}`,
    queue: 'default',
    type,
    attempt: 1,
    maxRetries: 3,
    leaseToken: `w:1:${taskNumber}`,
  } as ClaimedTask;
  return new ActiveRun(task, 30_000);
}

describe('TaskThreadPool (real worker threads)', () => {
  beforeAll(() => Logger.overrideLogger(false));

  describe('one thread', () => {
    const pool = poolOf([cpu, chaos], { size: 1, memoryMb: 128 });
    beforeAll(() => pool.start());
    afterAll(() => pool.stop());

    it('runs the handler in a thread with the payload and context; the event loop keeps turning meanwhile', async () => {
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      const run = runOf('cpu');
      const result = await pool.run(cpu, { ms: 500 }, run).finally(() => clearInterval(ticker));
      expect(result).toMatchObject({ busy_ms: 500, attempt: 1 });
      // Had the loop run here, not one interval callback could have fired before it ended.
      expect(ticks).toBeGreaterThan(0);

      const context = runOf('thread_chaos');
      expect(await pool.run(chaos, { behaviour: 'context' }, context)).toEqual({
        taskId: context.task.id,
        taskType: 'thread_chaos',
        queue: 'default',
        attempt: 1,
        maxRetries: 3,
        in_thread: true,
      });
    });

    it("rethrows the handler's error with its name, message and the thread's stack (the handler's source file)", async () => {
      const error = await pool.run(chaos, { behaviour: 'throw' }, runOf('thread_chaos')).catch((e: unknown) => e);
      expect(describeError(error)).toBe('Error: planned failure in a thread, attempt 1');
      expect(errorDetail(error).split('\n')[1]).toMatch(/handlers\/faults\/thread-chaos\.thread\.ts:\d+:\d+\)?$/);

      const permanent = await pool.run(chaos, { behaviour: 'non_retryable' }, runOf('thread_chaos')).catch((e) => e);
      expect(permanent).toBeInstanceOf(NonRetryableError);
      expect(describeError(permanent)).toBe('NonRetryableError: planned permanent failure in a thread');
    });

    it("hands a result JSON cannot hold to the outcome writer's rule, which dead-letters it non_retryable", async () => {
      const result = await pool.run(chaos, { behaviour: 'bad_result' }, runOf('thread_chaos'));
      expect(encodeResult(result, 1024)).toEqual({
        dead: {
          reason: 'non_retryable',
          error: 'result is not JSON-serializable: Do not know how to serialize a BigInt',
        },
      });
    });

    it.each([
      ['timer_throw', /died \(Error: thrown from a timer in the thread running default\.\d+\); the pool replaced it$/],
      ['exit', /died \(Error: worker exited with code: 3\); the pool replaced it$/],
      [
        'oom',
        /died \(Error: Worker terminated due to reaching memory limit: JS heap out of memory \(WORKER_THREAD_MEMORY_MB=128\)\); the pool replaced it$/,
      ],
    ])('a thread that dies (%s) fails only its run, and the next run gets a new thread', async (behaviour, message) => {
      const error = await pool.run(chaos, { behaviour }, runOf('thread_chaos')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ThreadCrashError);
      expect((error as Error).message).toMatch(message);
      expect(await pool.run(cpu, { ms: 1 }, runOf('cpu'))).toMatchObject({ busy_ms: 1 });
    });

    it("terminates a busy thread when the run is aborted (timeout, cancel), failing with the abort's reason", async () => {
      for (const reason of [new TaskTimeoutError(100), new CancelledError()]) {
        const run = runOf('cpu');
        // A minute of spinning: only terminating the thread ends it within the test's timeout.
        const running = pool.run(cpu, { ms: 60_000 }, run);
        setTimeout(() => run.abort(reason), 200);
        await expect(running).rejects.toBe(reason);
        expect(await pool.run(cpu, { ms: 1 }, runOf('cpu'))).toMatchObject({ busy_ms: 1 });
      }
    });

    it('takes an aborted run waiting for the busy thread off the wait list', async () => {
      const first = runOf('cpu');
      const busy = pool.run(cpu, { ms: 60_000 }, first);
      const waiting = runOf('cpu');
      const queued = pool.run(cpu, { ms: 1 }, waiting);
      const reason = new CancelledError();
      waiting.abort(reason);
      await expect(queued).rejects.toBe(reason);
      first.abort(new TaskTimeoutError(1));
      await expect(busy).rejects.toBeInstanceOf(TaskTimeoutError);
    });
  });

  it('refuses to start when a module exports no such function, naming the type, file and export', async () => {
    const pool = poolOf([{ ...cpu, exportName: 'missing' }], { size: 1, memoryMb: 0 });
    await expect(pool.start()).rejects.toThrow(
      /task type "cpu" \(CpuHandler\): .*cpu\.thread\.ts does not load in a worker thread: Error: .*cpu\.thread\.ts exports no function named "missing" \(its exports: default\)/,
    );
  });

  it('starts no thread without a thread-isolated type', async () => {
    const pool = poolOf([], { size: 2, memoryMb: 0 });
    await pool.start();
    await expect(pool.run(cpu, { ms: 1 }, runOf('cpu'))).rejects.toThrow('the worker thread pool is not running');
  });
});
