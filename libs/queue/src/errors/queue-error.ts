/** Why a queue operation failed; the API maps each code to one HTTP status. */
export enum QueueErrorCode {
  /** The task (or queue item) does not exist. 404 */
  NotFound = 'not_found',
  /** The task exists but is not in the state the operation needs. 409 */
  WrongState = 'wrong_state',
  /** The caller's lease on the task is gone (expired and recovered). */
  LeaseLost = 'lease_lost',
  /** Redis did not answer (down, unreachable, timed out). 503 */
  Unavailable = 'unavailable',
}

export class QueueError extends Error {
  constructor(
    readonly code: QueueErrorCode,
    /** The queue operation, e.g. "enqueue", "requeueDead". */
    readonly op: string,
    message: string,
    options?: { cause?: unknown; maybeApplied?: boolean },
  ) {
    super(message, options);
    this.name = 'QueueError';
    this.maybeApplied = options?.maybeApplied ?? false;
  }

  /**
   * Unavailable only: the command may have reached Redis and run after all (it timed out, or the
   * connection dropped while it was in flight), so the caller cannot say "nothing was written".
   */
  readonly maybeApplied: boolean;
}

/** Script return codes below zero, shared by every Lua script (see scripts/lua/*.lua headers). */
export const SCRIPT_CODE = { NotFound: -1, WrongState: -2, LeaseLost: -3 } as const;

export function errorForScriptCode(code: number, op: string, id: string): QueueError | undefined {
  switch (code) {
    case SCRIPT_CODE.NotFound:
      return new QueueError(QueueErrorCode.NotFound, op, `task ${id} does not exist`);
    case SCRIPT_CODE.WrongState:
      return new QueueError(QueueErrorCode.WrongState, op, `task ${id} is not in the state ${op} needs`);
    case SCRIPT_CODE.LeaseLost:
      return new QueueError(QueueErrorCode.LeaseLost, op, `lease on task ${id} is no longer held`);
    default:
      return undefined;
  }
}

/** Replies that mean "not now" (loading after a restart, a replica, a busy script), not a bug. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)\b/;

/** ioredis refused to send the command at all (disconnected, offline queue off, connection refused). */
const NEVER_SENT = /Stream isn't writeable|enableOfflineQueue|ECONNREFUSED/;

/**
 * Any failure that is not Redis refusing a command (a ReplyError, i.e. a bug) means Redis could not
 * be reached in time: it becomes Unavailable, so callers can answer 503 or back off.
 */
export function wrapRedisError(op: string, error: unknown): Error {
  if (error instanceof QueueError) return error;
  const name = (error as { name?: string } | null)?.name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'ReplyError' && !TRANSIENT_REPLY.test(message)) return error as Error;
  return new QueueError(QueueErrorCode.Unavailable, op, `Redis unavailable during ${op}: ${message}`, {
    cause: error,
    maybeApplied: name !== 'ReplyError' && !NEVER_SENT.test(message),
  });
}

export async function redisCall<T>(op: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw wrapRedisError(op, error);
  }
}
