/**
 * The states of a task, in the order it moves through them: the one list. The api's document, the queue's
 * listings and gauges and the result store take it from here; the copies that cannot import it (the Lua scripts'
 * FINISHED table, the result store's CHECK constraint, the typed client the CLI and the console use) are held
 * to it by task-status.int-spec.ts beside this file.
 */
export const TASK_STATUSES = ['scheduled', 'queued', 'active', 'retrying', 'succeeded', 'dead', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The states a task does not leave by itself: it never runs again (a dead one may be requeued by hand). */
export const FINISHED_STATUSES = ['succeeded', 'dead', 'cancelled'] as const satisfies readonly TaskStatus[];
export type FinishedStatus = (typeof FINISHED_STATUSES)[number];

export function isFinishedStatus(status: string): status is FinishedStatus {
  return (FINISHED_STATUSES as readonly string[]).includes(status);
}
