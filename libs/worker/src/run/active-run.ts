import { ClaimedTask } from '@app/queue';
import { AbandonReason, RunContext, TaskContext } from './task-context';

/**
 * A run this worker holds a lease for. Identified by its lease token, never by task id alone: the
 * same worker can claim a task again (a retry with delay 0, a recovery after a stall) while its
 * earlier run has not settled, and the two runs must not share an entry.
 */
export class ActiveRun implements RunContext {
  readonly handler: TaskContext;
  /** Local estimate of the lease deadline (renewed by each heartbeat). */
  leaseUntil: number;
  /** Settles when the run is over and its outcome written (or given up). */
  done: Promise<void> = Promise.resolve();
  private reason?: AbandonReason;
  private readonly controller = new AbortController();

  constructor(
    readonly task: ClaimedTask,
    leaseMs: number,
  ) {
    this.leaseUntil = Date.now() + leaseMs;
    const controller = this.controller;
    this.handler = {
      taskId: task.id,
      taskType: task.type,
      queue: task.queue,
      attempt: task.attempt,
      maxRetries: task.maxRetries,
      // Read lazily: Node builds the AbortSignal (an EventTarget) on first access, and most
      // handlers never look at it. abort() works the same either way.
      get signal() {
        return controller.signal;
      },
    };
  }

  get token(): string {
    return this.task.leaseToken;
  }

  get abandoned(): AbandonReason | undefined {
    return this.reason;
  }

  abort(reason: Error): void {
    this.controller.abort(reason);
  }

  /** Gives the run up (first reason wins) and aborts its handler with `error`. */
  abandon(reason: AbandonReason, error: Error): void {
    this.reason ??= reason;
    this.abort(error);
  }
}
