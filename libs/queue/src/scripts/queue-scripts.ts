import { defineScript, scriptReply, ScriptArg } from './script';

/** The scripts that act on a queue as a whole: registry, controls, stats, purges, forget, archive. */

/** lua/registerQueues-1.lua: code 1, or LimitReached and how many queues are registered. */
export const registerQueues = defineScript({
  command: 'taskqRegisterQueues',
  keys: ['registry'],
  /** `maxQueues` 0 = no cap. */
  argv: (a: { maxQueues: number; queues: string[] }) => [a.maxQueues, ...a.queues],
  decode: scriptReply.numbers,
});

/** lua/setQueueControls-4.lua: code 1, or Unregistered (nothing written). */
export const setQueueControls = defineScript({
  command: 'taskqSetQueueControls',
  keys: ['seq', 'meta', 'rateLog', 'wake'],
  /** For `limits`, '' = no rate limit / no concurrency cap. */
  argv: (a: {
    control:
      | { action: 'pause' | 'resume' }
      | { action: 'limits'; rateMax: number | ''; ratePerMs: number | ''; concurrency: number | '' };
  }): ScriptArg[] =>
    a.control.action === 'limits'
      ? ['limits', a.control.rateMax, a.control.ratePerMs, a.control.concurrency]
      : [a.control.action],
  decode: scriptReply.numbers,
});

/** lua/queueStats-9.lua */
export const queueStats = defineScript({
  command: 'taskqQueueStats',
  keys: ['scheduled', 'queued', 'active', 'retrying', 'succeeded', 'dead', 'cancelled', 'meta', 'ready'],
  argv: (a: { taskPrefix: string }) => [a.taskPrefix],
  decode: (raw) => {
    const [scheduled, queued, active, retrying, succeeded, dead, cancelled, ...rest] = scriptReply.numbers(raw);
    const [oldestQueuedAgeMs, paused, rateMax, ratePerMs, concurrency, servedAgoMs, purged] = rest;
    return {
      counts: { scheduled, queued, active, retrying, succeeded, dead, cancelled },
      /** -1 when none is queued. */
      oldestQueuedAgeMs,
      paused: paused === 1,
      /** -1 when unset. */
      rateMax,
      ratePerMs,
      concurrency,
      /** -1 when no worker ever served the queue. */
      servedAgoMs,
      purged,
    };
  },
});

/** lua/purgeTasks-4.lua: how many tasks of `set` (queued, scheduled or retrying) went. */
export const purgeTasks = defineScript({
  command: 'taskqPurgeTasks',
  keys: ['set', 'archive', 'meta', 'ready'],
  /** `withReady`: the state is queued, whose priority-0 tasks wait in the ready list. */
  argv: (a: { taskPrefix: string; limit: number; withReady: boolean }) => [a.taskPrefix, a.limit, a.withReady ? 1 : 0],
  decode: scriptReply.number,
});

/** lua/purgeDead-2.lua: how many dead tasks went. */
export const purgeDead = defineScript({
  command: 'taskqPurgeDead',
  keys: ['dead', 'archive'],
  argv: (a: { taskPrefix: string; limit: number }) => [a.taskPrefix, a.limit],
  decode: scriptReply.number,
});

/** lua/forgetQueue-18.lua */
export const forgetQueue = defineScript({
  command: 'taskqForgetQueue',
  keys: [
    'scheduled',
    'queued',
    'active',
    'retrying',
    'succeeded',
    'dead',
    'cancelled',
    'deadTrimmed',
    'seq',
    'wake',
    'recoverLock',
    'meta',
    'rateLog',
    'archive',
    'throughput',
    'schedules',
    'scheduleIndex',
    'ready',
  ],
  argv: (a: { scheduleNamesShown: number; taskPrefix: string }) => [a.scheduleNamesShown, a.taskPrefix],
  /** Forgotten, or refused (WrongState): the tasks and schedules left, and some of the schedules' names. */
  decode: (raw) => {
    const [code, tasks, schedules, ...names] = raw as (string | number)[];
    return Number(code) === 1
      ? { forgotten: true as const }
      : { forgotten: false as const, tasks: Number(tasks), schedules: Number(schedules), names: names.map(String) };
  },
});

/** lua/claimArchive-1.lua: Redis' clock, entries dropped (their hash gone), and each claimed task's hash. */
export const claimArchive = defineScript({
  command: 'taskqClaimArchive',
  keys: ['archive'],
  argv: (a: { taskPrefix: string; max: number; leaseMs: number; byteBudget: number }) => [
    a.taskPrefix,
    a.max,
    a.leaseMs,
    a.byteBudget,
  ],
  decode: (raw) => {
    const r = raw as (number | string | string[])[];
    const tasks: { id: string; hash: Record<string, string> }[] = [];
    for (let i = 2; i < r.length; i += 2) {
      const flat = r[i + 1] as string[];
      const hash: Record<string, string> = {};
      for (let j = 0; j < flat.length; j += 2) hash[flat[j]] = flat[j + 1];
      tasks.push({ id: String(r[i]), hash });
    }
    return { now: Number(r[0]), dropped: Number(r[1]), tasks };
  },
});

/** lua/settleArchive-2.lua */
export const settleArchive = defineScript({
  command: 'taskqSettleArchive',
  keys: ['archive', 'dead'],
  argv: (a: { taskPrefix: string; outcome: 'written' | 'failed'; tasks: { id: string; rev: number }[] }) => [
    a.taskPrefix,
    a.outcome,
    ...a.tasks.flatMap((task) => [task.id, task.rev]),
  ],
  decode: (raw) => {
    const [settled, deleted, kept] = scriptReply.numbers(raw);
    return { settled, deleted, kept };
  },
});

/**
 * lua/readyRange-2.lua (read-only): up to `count` entries of the ready list after the listing score
 * `after` (-1 = from the start), with their listing scores (the queued set's order, see the script).
 */
export const readyRange = defineScript({
  command: 'taskqReadyRange',
  keys: ['ready', 'meta'],
  argv: (a: { after: number; count: number }) => [a.after, a.count],
  decode: (raw) => {
    const [first, ...ids] = raw as (string | number)[];
    return ids.map((id, i) => ({ id: String(id), score: Number(first) + i }));
  },
});
