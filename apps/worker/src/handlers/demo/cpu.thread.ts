import type { CpuPayload } from '@app/contracts';
import type { ThreadTaskContext } from '@app/worker';

/**
 * The `cpu` task's code, run in a worker thread (see cpu.handler.ts): spins the CPU for `ms` without
 * yielding, as a hash, an image resize or a report render would. On the event loop this would stop
 * every lease renewal and every other slot of the worker until it ended.
 */
export default function busyLoop(payload: CpuPayload, context: ThreadTaskContext) {
  const until = Date.now() + payload.ms;
  let spins = 0;
  while (Date.now() < until) spins++;
  return { busy_ms: payload.ms, spins, attempt: context.attempt };
}
