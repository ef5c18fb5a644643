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

/** The outcome of one run, which the pool applies to Redis atomically (ack, retry or dead). */
export type RunOutcome =
  | { kind: 'succeeded'; result: unknown }
  | { kind: 'retry'; delayMs: number; error: string }
  | { kind: 'dead'; reason: DeadReason; error: string };

/** One run as it passes through the interceptor chain. */
export interface RunContext {
  readonly task: ClaimedTask;
  readonly handler: TaskContext;
  /** Aborts the run's signal, with the reason as the signal's reason. */
  abort(reason: Error): void;
}
