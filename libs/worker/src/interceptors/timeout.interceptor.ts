import { Injectable } from '@nestjs/common';
import { RunContext, RunOutcome } from '../run/task-context';
import { TaskTimeoutError } from '../run/run-errors';
import { TaskInterceptor } from './task-interceptor.interface';

/**
 * After an abort, how long a handler may take to notice its signal before the slot is freed anyway.
 * Until then the slot stays taken, so the pool never runs more than its size of live handlers.
 */
export const ABORT_GRACE_MS = 5000;

const TIMED_OUT = Symbol('timed out');

/** Aborts the run's signal when timeout_ms passes, then fails the run with TaskTimeoutError. */
@Injectable()
export class TimeoutInterceptor implements TaskInterceptor {
  async intercept(run: RunContext, next: () => Promise<RunOutcome>): Promise<RunOutcome> {
    const timeoutMs = run.task.timeoutMs;
    if (!(timeoutMs > 0)) return next();
    const running = next();
    let timer: NodeJS.Timeout | undefined;
    try {
      // One promise settled by whichever comes first (cheaper per run than Promise.race over two).
      const first = await new Promise<RunOutcome | typeof TIMED_OUT>((resolve, reject) => {
        timer = setTimeout(resolve, timeoutMs, TIMED_OUT);
        running.then(resolve, reject);
      });
      if (first !== TIMED_OUT) return first;
    } finally {
      clearTimeout(timer);
    }
    const error = new TaskTimeoutError(timeoutMs);
    run.abort(error);
    await settleWithin(running, ABORT_GRACE_MS);
    throw error;
  }
}

/** Waits for a promise to settle (either way) or for `ms`, whichever comes first. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
