import type { FinishedMode } from '../queue.options';
import { SCRIPT_CODE } from '../errors/queue-error';
import { defineScript, ScriptArg, scriptReply } from './script';

/** The scripts that create a task or act on one by id: enqueue, cancel, retry, restore, watch, delete from the DLQ. */

/** One task of an enqueue call, as the script stores it (the script makes its id). */
export interface EnqueueRow {
  type: string;
  payloadJson: string;
  priority: number;
  maxRetries: number;
  timeoutMs: number;
  /** ms from now (0 = now), or a negative absolute epoch ms for run_at. */
  delay: number;
  /** '' = none. */
  idempotencyKey: string;
  /** Of the task's body, for the idempotency record ('' without a key). */
  digest: string;
  /** '' = not unique. */
  uniqueLock: string;
  uniqueForMs: number;
  /** The task's own backoff, encoded ('' = its type's applies). */
  backoff: string;
}

/** lua/enqueueTasks-5.lua */
export const enqueueTasks = defineScript({
  command: 'taskqEnqueueTasks',
  keys: ['queued', 'scheduled', 'seq', 'wake', 'ready'],
  argv: (a: {
    taskPrefix: string;
    idemPrefix: string;
    uniquePrefix: string;
    idempotencyTtlSeconds: number;
    /** taskIdPrefix(queue) */
    idPrefix: string;
    tasks: EnqueueRow[];
  }) => {
    // A loop, not flatMap: a bulk enqueue builds 11 arguments per task, on the submit path.
    const argv: ScriptArg[] = [
      a.taskPrefix,
      a.idemPrefix,
      a.uniquePrefix,
      a.idempotencyTtlSeconds,
      a.tasks.length,
      a.idPrefix,
    ];
    for (const t of a.tasks) {
      argv.push(t.type, t.payloadJson, t.priority, t.maxRetries, t.timeoutMs, t.delay);
      argv.push(t.idempotencyKey, t.digest, t.uniqueLock, t.uniqueForMs, t.backoff);
    }
    return argv;
  },
  /**
   * `unregistered`: the queue has no registration mark, nothing written. Else per task: code 1 written
   * (id = its new id), 2 replayed (id = the original), IdempotencyConflict or UniqueConflict (id = the
   * task in the way). After a conflict nothing of the call was written, and the other codes say what
   * would have been: a conflict naming a code-1 task's id names that task of the same call.
   */
  decode: (raw) => {
    const r = raw as (string | number)[];
    if (Number(r[0]) === SCRIPT_CODE.Unregistered) return { unregistered: true as const };
    const outcomes: { code: number; id: string }[] = [];
    for (let i = 1; i < r.length; i += 2) outcomes.push({ code: Number(r[i]), id: String(r[i + 1]) });
    return { unregistered: false as const, outcomes };
  },
});

/** lua/cancelTask-8.lua: code 1 and the status it left, NotFound, or WrongState and the status. */
export const cancelTask = defineScript({
  command: 'taskqCancelTask',
  keys: ['scheduled', 'queued', 'retrying', 'active', 'cancelled', 'archive', 'throughput', 'meta'],
  argv: (a: {
    taskPrefix: string;
    id: string;
    resultTtlSeconds: number;
    cancelChannel: string;
    finishedMode: FinishedMode;
  }) => [a.taskPrefix, a.id, a.resultTtlSeconds, a.cancelChannel, a.finishedMode],
  decode: scriptReply.coded,
});

/** lua/retryTask-9.lua: 1; NotFound; WrongState, status[, 'deleted']; UniqueConflict, holder. */
export const retryTask = defineScript({
  command: 'taskqRetryTask',
  keys: ['dead', 'succeeded', 'cancelled', 'queued', 'seq', 'wake', 'archive', 'ready', 'meta'],
  argv: (a: { taskPrefix: string; id: string; finishedMode: FinishedMode; only: 'dead' | 'finished' }) => [
    a.taskPrefix,
    a.id,
    a.finishedMode,
    a.only,
  ],
  decode: scriptReply.coded,
});

/** A finished task read back from its row, as restoreTask writes it again ('' = none for the optional ones). */
export interface RestoreRow {
  id: string;
  rev: number;
  type: string;
  payloadJson: string;
  priority: number;
  maxRetries: number;
  timeoutMs: number;
  createdAt: number;
  historyJson: string;
  lastError: string;
  scheduleId: string;
  scheduledAt: number | '';
  uniqueLock: string;
  uniqueForMs: number | '';
  backoff: string;
}

/** lua/restoreTask-5.lua: 1; NotFound; WrongState, status; UniqueConflict, holder; Unregistered. */
export const restoreTask = defineScript({
  command: 'taskqRestoreTask',
  keys: ['queued', 'seq', 'wake', 'archive', 'ready'],
  argv: (a: { taskPrefix: string; task: RestoreRow }) => [
    a.taskPrefix,
    a.task.id,
    a.task.rev,
    a.task.type,
    a.task.payloadJson,
    a.task.priority,
    a.task.maxRetries,
    a.task.timeoutMs,
    a.task.createdAt,
    a.task.historyJson,
    a.task.lastError,
    a.task.scheduleId,
    a.task.scheduledAt,
    a.task.uniqueLock,
    a.task.uniqueForMs,
    a.task.backoff,
  ],
  decode: scriptReply.coded,
});

/** lua/watchTask-1.lua: 1 watched now, 0 finished already, NotFound. */
export const watchTask = defineScript({
  command: 'taskqWatchTask',
  keys: ['task'],
  argv: (a: { channel: string }) => [a.channel],
  decode: scriptReply.coded,
});

/** lua/deleteDead-2.lua: 1; NotFound; WrongState, status[, 'deleted']. */
export const deleteDead = defineScript({
  command: 'taskqDeleteDead',
  keys: ['dead', 'archive'],
  argv: (a: { taskPrefix: string; id: string }) => [a.taskPrefix, a.id],
  decode: scriptReply.coded,
});
