import { decodeBackoff } from '../backoff-field';
import type { FinishedMode } from '../queue.options';
import type { ClaimedTask } from '../task';
import { defineScript, ScriptArg, scriptReply } from './script';

/** The scripts of a claimed task's life in a worker: claim, then ack, fail or release, heartbeats, recovery. */

const CLAIM_ROW_FIELDS = 10;

/** lua/claimTasks-9.lua */
export const claimTasks = defineScript({
  command: 'taskqClaimTasks',
  keys: ['queued', 'scheduled', 'retrying', 'active', 'seq', 'meta', 'rateLog', 'archive', 'ready'],
  argv: (a: {
    /** Not sent: the claimed tasks carry it. */
    queue: string;
    taskPrefix: string;
    max: number;
    leaseMs: number;
    tokenPrefix: string;
    promoteBatch: number;
    /** Most archive entries the queue may hold (RESULTS_BUFFER_MAX); 0 = no bound. */
    resultsBufferMax: number;
  }) => [a.taskPrefix, a.max, a.leaseMs, a.tokenPrefix, a.promoteBatch, a.resultsBufferMax],
  // Each task is built whole in one literal (the worker's hot path: objects of one shape, no copies).
  decode: (raw, a) => {
    const r = raw as (string | number | null)[];
    const nextDue = Number(r[0]);
    const now = Number(r[1]);
    const tasks: ClaimedTask[] = [];
    for (let i = 3; i < r.length; i += CLAIM_ROW_FIELDS) {
      tasks.push({
        id: String(r[i]),
        leaseToken: String(r[i + 1]),
        type: String(r[i + 2]),
        payloadJson: String(r[i + 3]),
        attempt: Number(r[i + 4]),
        maxRetries: Number(r[i + 5]),
        timeoutMs: Number(r[i + 6]),
        dueAt: Number(r[i + 7]),
        priority: Number(r[i + 8]),
        backoff: decodeBackoff(r[i + 9] as string | null) ?? undefined,
        queue: a.queue,
        claimedAt: now,
      });
    }
    return { nextDueAt: nextDue >= 0 ? nextDue : null, now, backlogged: Number(r[2]) === 1, tasks };
  },
});

/** lua/ackTasks-6.lua: one code per task, in order (1, or SCRIPT_CODE.LeaseLost). */
export const ackTasks = defineScript({
  command: 'taskqAckTasks',
  keys: ['active', 'succeeded', 'archive', 'throughput', 'meta', 'wake'],
  argv: (a: {
    taskPrefix: string;
    resultTtlSeconds: number;
    finishedMode: FinishedMode;
    acks: { id: string; leaseToken: string; resultJson: string }[];
  }) => {
    // A loop, not flatMap: one tick acks up to the worker's concurrency.
    const argv: ScriptArg[] = [a.taskPrefix, a.resultTtlSeconds, a.finishedMode];
    for (const ack of a.acks) argv.push(ack.id, ack.leaseToken, ack.resultJson);
    return argv;
  },
  decode: scriptReply.numbers,
});

/** lua/failTask-8.lua: dead tasks trimmed by DLQ_MAX_SIZE (>= 0), or SCRIPT_CODE.LeaseLost. */
export const failTask = defineScript({
  command: 'taskqFailTask',
  keys: ['active', 'retrying', 'dead', 'deadTrimmed', 'wake', 'archive', 'throughput', 'meta'],
  argv: (a: {
    taskPrefix: string;
    id: string;
    leaseToken: string;
    error: string;
    /** Retry after `delayMs`, or dead-letter for `reason`. */
    outcome: { action: 'retry'; delayMs: number } | { action: 'dead'; reason: string };
    dlqMaxSize: number;
    finishedMode: FinishedMode;
    /** For the attempt history ('' = the error). */
    detail: string;
  }) => [
    a.taskPrefix,
    a.id,
    a.leaseToken,
    a.error,
    a.outcome.action,
    a.outcome.action === 'retry' ? a.outcome.delayMs : a.outcome.reason,
    a.dlqMaxSize,
    a.finishedMode,
    a.detail,
  ],
  decode: scriptReply.number,
});

/** lua/releaseTask-3.lua: 1, or SCRIPT_CODE.LeaseLost. */
export const releaseTask = defineScript({
  command: 'taskqReleaseTask',
  keys: ['active', 'queued', 'wake'],
  argv: (a: { taskPrefix: string; id: string; leaseToken: string }) => [a.taskPrefix, a.id, a.leaseToken],
  decode: scriptReply.number,
});

/** lua/extendLeases-1.lua: the lease tokens that were lost. */
export const extendLeases = defineScript({
  command: 'taskqExtendLeases',
  keys: ['active'],
  argv: (a: { taskPrefix: string; leaseMs: number; leases: { id: string; leaseToken: string }[] }) => [
    a.taskPrefix,
    a.leaseMs,
    ...a.leases.flatMap((lease) => [lease.id, lease.leaseToken]),
  ],
  decode: scriptReply.strings,
});

/** lua/recoverExpired-10.lua: the tasks put back or dead-lettered. */
export const recoverExpired = defineScript({
  command: 'taskqRecoverExpired',
  keys: [
    'active',
    'queued',
    'dead',
    'recoverLock',
    'deadTrimmed',
    'succeeded',
    'archive',
    'throughput',
    'wake',
    'cancelled',
  ],
  argv: (a: {
    taskPrefix: string;
    batch: number;
    maxRecoveries: number;
    /** 0 = ignore the lock. */
    lockMs: number;
    lockOwner: string;
    dlqMaxSize: number;
    finishedMode: FinishedMode;
  }) => [a.taskPrefix, a.batch, a.maxRecoveries, a.lockMs, a.lockOwner, a.dlqMaxSize, a.finishedMode],
  decode: (raw) => {
    const r = (raw as unknown[]).map(String);
    const out: { id: string; type: string; outcome: 'queued' | 'dead' }[] = [];
    for (let i = 0; i < r.length; i += 3)
      out.push({ id: r[i], type: r[i + 1], outcome: r[i + 2] as 'queued' | 'dead' });
    return out;
  },
});
