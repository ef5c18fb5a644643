/** Why a queue operation failed; the API maps each code to one HTTP status. */
export enum QueueErrorCode {
  /** The task (or queue item) does not exist. 404 */
  NotFound = 'not_found',
  /** The task exists but is not in the state the operation needs. 409 */
  WrongState = 'wrong_state',
  /** The caller's lease on the task is gone (expired and recovered). */
  LeaseLost = 'lease_lost',
  /** Redis did not answer (down, unreachable, timed out), or refuses writes (OOM). 503 */
  Unavailable = 'unavailable',
  /** A cap was reached (MAX_QUEUES): nothing was written. 409 */
  LimitReached = 'limit_reached',
  /**
   * The request conflicts with an earlier one: an idempotency key reused with another body, or a
   * unique task that is still unfinished. `existingId` names the task, or `sameCall` the earlier task
   * of the same enqueue call. Nothing was written. 409
   */
  Conflict = 'conflict',
  /**
   * A script refused a malformed argument (NaN, out of range) before writing anything. The edge
   * validates input first, so this is a bug in the caller, reported with the argument's name.
   */
  BadArgument = 'bad_argument',
}

/** Two tasks of one enqueue call in each other's way: `index` and the call's `earlier` task. */
export interface SameCallConflict {
  index: number;
  earlier: number;
  /** The same unique key, or the same idempotency key for two different tasks. */
  kind: 'unique' | 'idempotency';
}

export class QueueError extends Error {
  constructor(
    readonly code: QueueErrorCode,
    /** The queue operation, e.g. "enqueue", "requeueDead". */
    readonly op: string,
    message: string,
    options?: {
      cause?: unknown;
      maybeApplied?: boolean;
      written?: string[];
      existingId?: string;
      sameCall?: SameCallConflict;
    },
  ) {
    super(message, options);
    this.name = 'QueueError';
    this.maybeApplied = options?.maybeApplied ?? false;
    this.written = options?.written;
    this.existingId = options?.existingId;
    this.sameCall = options?.sameCall;
  }

  /** Conflict only: the task the request conflicts with. */
  readonly existingId?: string;

  /**
   * Conflict only, instead of existingId: task `index` of an enqueue call conflicts with the call's
   * own earlier task `earlier` (the same unique key, or the same idempotency key for another task),
   * which was not written either.
   */
  readonly sameCall?: SameCallConflict;

  /**
   * Unavailable or Conflict during a write that spans several queues (a batch): the task ids of the
   * other queues' parts that were certainly written. Each queue's part is atomic; the parts are not.
   */
  readonly written?: string[];

  /**
   * Unavailable only: the command may have reached Redis and run after all (it timed out, or the
   * connection dropped while it was in flight), so the caller cannot say "nothing was written".
   */
  readonly maybeApplied: boolean;
}

/** Script return codes below zero, shared by every Lua script (see scripts/lua/*.lua headers). */
export const SCRIPT_CODE = {
  NotFound: -1,
  WrongState: -2,
  LeaseLost: -3,
  LimitReached: -5,
  IdempotencyConflict: -6,
  UniqueConflict: -7,
  /** fireSchedule: a tick is still in the future by Redis' clock. */
  NotDue: -8,
  /** The queue has no registration mark (forgotten meanwhile): register it and call again. */
  Unregistered: -9,
} as const;

/**
 * The error for a script's negative code. `actual` is what the script reported about the task
 * (its status, for WrongState) and `needed` the state the operation needs, so the message reads
 * "task X is succeeded, not dead" rather than naming a script.
 */
export function errorForScriptCode(
  code: number,
  op: string,
  id: string,
  detail: { actual?: string; needed?: string } = {},
): QueueError | undefined {
  switch (code) {
    case SCRIPT_CODE.NotFound:
      return new QueueError(
        QueueErrorCode.NotFound,
        op,
        `task ${id} does not exist (unknown id, or finished and expired)`,
      );
    case SCRIPT_CODE.WrongState:
      return new QueueError(
        QueueErrorCode.WrongState,
        op,
        detail.actual && detail.needed
          ? `task ${id} is ${detail.actual}, not ${detail.needed}`
          : `task ${id} is ${detail.actual ?? 'not in a state that allows this'}`,
      );
    case SCRIPT_CODE.LeaseLost:
      return new QueueError(QueueErrorCode.LeaseLost, op, `lease on task ${id} is no longer held`);
    default:
      return undefined;
  }
}

/** The operations on one task that a task's state can refuse (409). */
export type TaskOperation = 'cancel' | 'retry' | 'requeueDead' | 'deleteDead';

/**
 * The WrongState of an operation that refuses a task in `status`: one message per operation, the same
 * whether the task was found in Redis or, finished and written (RESULTS_BACKEND=postgres), only in the
 * history. `deletedFromDlq`: a dead task deleted from the dead-letter queue, which only its record keeps.
 */
export function refusedInState(op: TaskOperation, id: string, status: string, deletedFromDlq = false): QueueError {
  let message: string;
  if (op === 'cancel') {
    message = `task ${id} is ${status} already; only a scheduled, queued, retrying or active task can be cancelled`;
  } else if (op === 'retry') {
    message = `task ${id} is ${status}; only a succeeded, dead or cancelled task can be retried`;
  } else if (status === 'dead' && deletedFromDlq) {
    message = `task ${id} is dead but was deleted from the dead-letter queue; its record stays in the history (POST /tasks/{id}/retry runs it again)`;
  } else {
    message = `task ${id} is ${status}, not dead`;
  }
  return new QueueError(QueueErrorCode.WrongState, op, message);
}

/** Another unfinished task holds the uniqueness lock a task would take again to run (requeue, retry). */
export function uniqueLockHeld(op: TaskOperation, id: string, holder: string): QueueError {
  return new QueueError(
    QueueErrorCode.Conflict,
    op,
    `task ${holder}, of the same type and payload, is not finished yet and holds the uniqueness lock (unique_for_ms) task ${id} would take again; try again once it has finished`,
    { existingId: holder },
  );
}

/** The error of a retryTask reply (requeue or retry), or undefined when it ran the task again. */
export function retryError(
  op: TaskOperation,
  id: string,
  [code, status, detail]: [number, string?, string?],
): QueueError | undefined {
  switch (Number(code)) {
    case SCRIPT_CODE.WrongState:
      return refusedInState(op, id, status!, detail === 'deleted');
    case SCRIPT_CODE.UniqueConflict:
      return uniqueLockHeld(op, id, status!);
    default:
      return errorForScriptCode(Number(code), op, id);
  }
}

/** Refuses a number a script would read as NaN, infinity or a fraction, before anything is sent. */
export function assertScriptInt(op: string, name: string, value: number): number {
  if (!Number.isSafeInteger(value)) {
    throw new QueueError(QueueErrorCode.BadArgument, op, `${name} must be a whole number, got ${String(value)}`);
  }
  return value;
}

/**
 * Replies that mean "not now" (loading after a restart, a replica, a busy script, a cluster moving
 * slots or failing over, out of memory under noeviction): Redis refused the command before running
 * it, so nothing was written. Not a bug. MOVED/ASK reach us only when the client could not follow
 * them itself (a pipeline ending in WAIT, see QueueProducer.flush).
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|MOVED|ASK|OOM)\b/;

/** A script refused an argument before its first write (see TASKQ_BADARG in scripts/lua/_prelude.lua). */
const BAD_ARGUMENT_REPLY = /^TASKQ_BADARG (.*?)(?: script: [0-9a-f]+, on @user_script.*)?$/s;

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
  const badArgument = name === 'ReplyError' ? BAD_ARGUMENT_REPLY.exec(message) : null;
  if (badArgument) {
    return new QueueError(QueueErrorCode.BadArgument, op, `${op}: ${badArgument[1].trim()}`, { cause: error });
  }
  if (name === 'ReplyError' && /^OOM\b/.test(message)) {
    return new QueueError(
      QueueErrorCode.Unavailable,
      op,
      `Redis is out of memory and refuses writes (maxmemory reached, noeviction): ${message}`,
      { cause: error, maybeApplied: false },
    );
  }
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
