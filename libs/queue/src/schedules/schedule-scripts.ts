import { defineScript, scriptReply, ScriptArg } from '../scripts/script';

/**
 * The schedule scripts (lua/*Schedule*.lua). `schedule` is the schedule's hash, `schedules` the queue's
 * enabled schedules by next run, `scheduleIndex` every schedule of the queue by name, `names` the
 * prefix-wide name → id index.
 */

/** lua/saveSchedule-2.lua: 1 and the revision written; NotFound (update); WrongState and the stored revision. */
export const saveSchedule = defineScript({
  command: 'taskqSaveSchedule',
  keys: ['schedule', 'schedules'],
  argv: (a: {
    id: string;
    mode: 'create' | 'update';
    /** Expected revision (update; 0 on create). */
    rev: number;
    /** Epoch ms; 0 = none; -1 = keep the stored one (update). */
    nextRun: number;
    pendingTtlMs: number;
    channel: string;
    /** The 13 definition fields, as definitionArgs gives them. */
    definition: ScriptArg[];
  }) => [a.id, a.mode, a.rev, a.nextRun, a.pendingTtlMs, a.channel, ...a.definition],
  decode: scriptReply.numbers,
});

/** lua/activateSchedule-4.lua: 1; NotFound; Unregistered; LimitReached and the queue's schedule count. */
export const activateSchedule = defineScript({
  command: 'taskqActivateSchedule',
  keys: ['schedule', 'schedules', 'seq', 'scheduleIndex'],
  /** `maxSchedules` 0 = no cap. */
  argv: (a: { id: string; channel: string; maxSchedules: number }) => [a.id, a.channel, a.maxSchedules],
  decode: scriptReply.numbers,
});

/** lua/indexSchedule-2.lua */
export const indexSchedule = defineScript({
  command: 'taskqIndexSchedule',
  keys: ['schedule', 'scheduleIndex'],
  argv: (a: { id: string; name: string }) => [a.id, a.name],
  decode: scriptReply.number,
});

/** lua/deleteSchedule-3.lua: 1 and the schedule's name, or NotFound. */
export const deleteSchedule = defineScript({
  command: 'taskqDeleteSchedule',
  keys: ['schedule', 'schedules', 'scheduleIndex'],
  argv: (a: { id: string }) => [a.id],
  decode: scriptReply.coded,
});

/**
 * lua/fireSchedule-6.lua: tasks enqueued (>= 0), Redis' clock and the tasks' ids; NotFound; WrongState;
 * NotDue and the clock.
 */
export const fireSchedule = defineScript({
  command: 'taskqFireSchedule',
  keys: ['schedule', 'schedules', 'queued', 'seq', 'wake', 'ready'],
  argv: (a: {
    taskPrefix: string;
    id: string;
    rev: number;
    expectedTick: number;
    /** 0 = none. */
    nextRun: number;
    /** taskIdPrefix(queue) */
    idPrefix: string;
    ticks: number[];
  }) => [a.taskPrefix, a.id, a.rev, a.expectedTick, a.nextRun, a.ticks.length, a.idPrefix, ...a.ticks],
  decode: (raw) => {
    const r = raw as (number | string)[];
    return { code: Number(r[0]), now: Number(r[1] ?? 0), taskIds: r.slice(2).map(String) };
  },
});

/** lua/claimScheduleName-1.lua: 1, or 0 and the id that holds the name. */
export const claimScheduleName = defineScript({
  command: 'taskqClaimScheduleName',
  keys: ['names'],
  /** `seen`: the holder the caller saw ('' = the name was free). */
  argv: (a: { name: string; id: string; seen: string }) => [a.name, a.id, a.seen],
  decode: scriptReply.coded,
});

/** lua/releaseScheduleName-1.lua */
export const releaseScheduleName = defineScript({
  command: 'taskqReleaseScheduleName',
  keys: ['names'],
  argv: (a: { name: string; id: string }) => [a.name, a.id],
  decode: scriptReply.number,
});
