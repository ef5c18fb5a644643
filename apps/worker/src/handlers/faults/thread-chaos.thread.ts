import { isMainThread } from 'node:worker_threads';
import type { ThreadChaosPayload } from '@app/contracts';
import { NonRetryableError } from '@app/contracts';
import type { ThreadTaskContext } from '@app/worker';

/** The `thread_chaos` task's code, run in a worker thread: misbehaves as its payload says. */
export default async function threadChaos(payload: ThreadChaosPayload, context: ThreadTaskContext) {
  const ms = payload.ms ?? 0;
  switch (payload.behaviour) {
    case 'busy': {
      const until = Date.now() + ms;
      while (Date.now() < until);
      return { busy_ms: ms };
    }
    case 'throw':
      throw new Error(`planned failure in a thread, attempt ${context.attempt}`);
    case 'non_retryable':
      throw new NonRetryableError('planned permanent failure in a thread');
    case 'timer_throw':
      setTimeout(() => {
        throw new Error(`thrown from a timer in the thread running ${context.taskId}`);
      }, 0);
      return new Promise(() => undefined);
    case 'exit':
      return process.exit(3);
    case 'oom': {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array(100_000).fill(hoard.length));
    }
    case 'bad_result':
      return { n: BigInt(1) };
    case 'context':
      return { ...context, in_thread: !isMainThread };
  }
}
