import { ClaimedTask, DeadReason } from '@app/queue';

/** What a handler gets besides its payload. */
export interface TaskContext {
  readonly taskId: string;
  readonly taskType: string;
  readonly queue: string;
  /** 1 for the first run. */
  readonly attempt: number;
  readonly maxRetries: number;
  /** Aborted on timeout, on a lost lease, and when shutdown's grace period ends. Pass it on to I/O. */
  readonly signal: AbortSignal;
}

/**
 * Why the worker gave up a run without an outcome of its own: handed back at shutdown, its lease
 * expired and the task was recovered (it runs again elsewhere), or the task was cancelled (it is
 * `cancelled` in Redis already). None of them is the task failing.
 */
export type AbandonReason = 'released' | 'lease_lost' | 'cancelled';

/** The outcome of one run, which the outcome writer applies to Redis atomically. */
export type RunOutcome =
  | { kind: 'succeeded'; result: unknown }
  /** `error` is the one line shown as last_error; `detail` (message and stack) goes to the attempt history. */
  | { kind: 'retry'; delayMs: number; error: string; detail?: string }
  | { kind: 'dead'; reason: DeadReason; error: string; detail?: string }
  /** No outcome: the run was abandoned (see AbandonReason); nothing is written or counted. */
  | { kind: 'abandoned'; reason: AbandonReason };

/** One run as it passes through the interceptor chain. */
export interface RunContext {
  readonly task: ClaimedTask;
  readonly handler: TaskContext;
  /** Set once the worker has given the run up; its outcome, whatever it is, is not applied. */
  readonly abandoned: AbandonReason | undefined;
  /** Aborts the run's signal, with the reason as the signal's reason. */
  abort(reason: Error): void;
}
