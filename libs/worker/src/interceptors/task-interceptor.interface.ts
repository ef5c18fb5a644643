import { RunContext, RunOutcome } from '../run/task-context';

/**
 * A wrapper around every handler run (like Nest's interceptors, or asynq's middleware):
 * call `next()` to run the rest of the chain, and return (or transform) its outcome.
 */
export interface TaskInterceptor {
  intercept(run: RunContext, next: () => Promise<RunOutcome>): Promise<RunOutcome>;
}

/** The ordered interceptor list, outermost first. */
export const TASK_INTERCEPTORS = Symbol('taskq:task-interceptors');
