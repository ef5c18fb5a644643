import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { dtoContract, TaskContract } from '../task-contract';

/**
 * What a `chaos` run does (the fault-injection pack, FAULT_TASKS=true; never in production):
 * - `run`: waits `ms` (honours the abort signal), then succeeds;
 * - `hang`: never settles and ignores its abort signal; `hang_abortable`: never settles until aborted;
 * - `throw`: throws the non-Error value named by `thrown` (string, object, undefined, null);
 * - `huge_reject`: rejects with an Error whose message is `bytes` long (megabytes);
 * - `stray_rejection`: leaves a rejected promise nobody awaits, then succeeds after `ms`;
 * - `timer_throw`: throws inside a setTimeout callback, then succeeds after `ms`;
 * - `fail_first`: fails its first `fail_times` attempts with an Error, then succeeds;
 * - `non_retryable`: throws a NonRetryableError (straight to the dead-letter queue);
 * - `bad_result`: returns a result JSON cannot hold (a BigInt);
 * - `stale_first`: the first run waits `ms` ignoring its abort signal (a run that outlives its
 *   lease); later runs wait `later_ms`, honouring it;
 * - `busy`: spins the CPU for `ms` on the worker's event loop (what `thread_chaos` does in a thread):
 *   nothing else of that worker runs meanwhile, lease renewals included.
 */
export const CHAOS_BEHAVIOURS = [
  'run',
  'hang',
  'hang_abortable',
  'throw',
  'huge_reject',
  'stray_rejection',
  'timer_throw',
  'fail_first',
  'non_retryable',
  'bad_result',
  'stale_first',
  'busy',
] as const;
export type ChaosBehaviour = (typeof CHAOS_BEHAVIOURS)[number];
export const CHAOS_THROWN = ['string', 'object', 'undefined', 'null'] as const;

export class ChaosPayload {
  @IsIn(CHAOS_BEHAVIOURS)
  behaviour!: ChaosBehaviour;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  ms?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  later_ms?: number;

  @IsOptional()
  @IsIn(CHAOS_THROWN)
  thrown?: (typeof CHAOS_THROWN)[number];

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(64 * 1024 * 1024)
  bytes?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  fail_times?: number;
}

export const chaosContract = dtoContract({
  type: 'chaos',
  description:
    'Fault injection (FAULT_TASKS=true only): run, hang, throw non-Errors, reject huge, crash the promise chain, fail n times.',
  dto: ChaosPayload,
  example: { behaviour: 'run', ms: 20 },
  defaults: { backoff: { baseMs: 20, maxMs: 100 } },
});

/**
 * What a `thread_chaos` run does, in a worker thread (the fault pack's thread-isolated type):
 * - `busy`: spins the CPU for `ms`, then succeeds;
 * - `throw`: throws an Error; `non_retryable`: throws a NonRetryableError;
 * - `timer_throw`: throws from a timer callback, an exception nothing catches: the thread dies;
 * - `exit`: calls process.exit(3) (only the thread exits);
 * - `oom`: allocates until the thread's heap limit (WORKER_THREAD_MEMORY_MB);
 * - `bad_result`: returns a result JSON cannot hold (a BigInt);
 * - `context`: returns what the thread was told of its run.
 */
export const THREAD_CHAOS_BEHAVIOURS = [
  'busy',
  'throw',
  'non_retryable',
  'timer_throw',
  'exit',
  'oom',
  'bad_result',
  'context',
] as const;

export class ThreadChaosPayload {
  @IsIn(THREAD_CHAOS_BEHAVIOURS)
  behaviour!: (typeof THREAD_CHAOS_BEHAVIOURS)[number];

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  ms?: number;
}

export const threadChaosContract = dtoContract({
  type: 'thread_chaos',
  description:
    'Fault injection in a worker thread (FAULT_TASKS=true only): busy-loop, throw, crash the thread, exit it, run it out of memory.',
  dto: ThreadChaosPayload,
  example: { behaviour: 'busy', ms: 20 },
  defaults: { backoff: { baseMs: 20, maxMs: 100 } },
});

export const FAULT_CONTRACTS: readonly TaskContract<unknown>[] = [chaosContract, threadChaosContract];

/**
 * Keys of the run records, under the deployment's prefix, sharing one hash tag of their own (outside
 * any queue's) so the record's MULTI works on a Redis Cluster too.
 */
export const faultRunKeys = (prefix: string) => ({
  /** HASH taskId → number of runs started. */
  runs: `${prefix}:{fault}:runs`,
  /** LIST of "taskId pid attempt startedAtMs", one per run. */
  log: `${prefix}:{fault}:log`,
});
