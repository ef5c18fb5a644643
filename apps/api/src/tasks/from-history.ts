import { isTaskId, QueueError, QueueErrorCode, TaskRecord } from '@app/queue';
import { TaskHistory } from '@app/results';

export const isNotFound = (error: unknown) => error instanceof QueueError && error.code === QueueErrorCode.NotFound;

/**
 * Runs an operation on a task that Redis may no longer hold. With RESULTS_BACKEND=postgres a finished
 * task leaves Redis once written, and an operation that refuses it in Redis (409 naming its state) must
 * refuse it the same once only the history has it: when Redis answers NotFound and the history has the
 * task, `refuse` says what to throw instead. PostgreSQL unreachable: its 503, as for any read of it.
 */
export async function refusingArchived<T>(
  history: TaskHistory,
  id: string,
  run: () => Promise<T>,
  refuse: (archived: TaskRecord) => Error,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const archived = await fromHistory(history, id, error);
    if (!archived) throw error;
    throw refuse(archived);
  }
}

/** The history's record of a task Redis answered NotFound for (`error`), or null (not there, or no history). */
export async function fromHistory(history: TaskHistory, id: string, error: unknown): Promise<TaskRecord | null> {
  if (!isNotFound(error) || !history.enabled || !isTaskId(id)) return null;
  return history.get(id);
}
