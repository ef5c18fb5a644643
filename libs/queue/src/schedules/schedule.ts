import { TaskStatus } from '../task';
import { MissedPolicy, ScheduleSpec } from './schedule-timing';

/**
 * Schedule names: 1–128 chars of [A-Za-z0-9_.:-]. Never a "~", so a name is never mistaken for a
 * schedule id (`<queue>~<uuid>`): a route may take either.
 */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The task a schedule enqueues at each tick, with its defaults resolved (like a submitted task). */
export interface ScheduleTask {
  type: string;
  queue: string;
  /** Any JSON value; stored serialized. */
  payload: unknown;
  priority: number;
  maxRetries: number;
  timeoutMs: number;
}

/** What a schedule is: everything a caller declares. Its queue is `task.queue`. */
export interface ScheduleDefinition {
  /** Unique per deployment. */
  name: string;
  spec: ScheduleSpec;
  task: ScheduleTask;
  enabled: boolean;
  missed: MissedPolicy;
  /** With `catch_up`: the most missed ticks one catch-up enqueues (the latest ones). */
  catchUpLimit: number;
}

/** A stored schedule: its definition and where it stands. */
export interface ScheduleRecord extends ScheduleDefinition {
  /** `<queue>~<uuid>` */
  id: string;
  /** Bumped by every edit; a scheduler fires only the revision it read. */
  rev: number;
  /** The tick the schedule waits for (epoch ms); null when disabled or no tick is left. */
  nextRunAt: number | null;
  /** The tick (scheduled time) of the latest task it enqueued. */
  lastRunAt: number | null;
  /** When that task was enqueued (Redis clock). */
  lastFiredAt: number | null;
  lastTaskId: string | null;
  /** Tasks it enqueued since it was created. */
  runs: number;
  createdAt: number;
  updatedAt: number;
}

/** GET /schedules/{id}: the record and the status of its latest task (null once that task expired). */
export interface ScheduleView extends ScheduleRecord {
  lastTaskStatus: TaskStatus | null;
}

/** A schedule due in a queue's schedules ZSET: what a scheduler wakes for. */
export interface DueSchedule {
  id: string;
  nextRunAt: number;
}

/** The outcome of one fireSchedule call. */
export type FireResult =
  | { outcome: 'fired'; taskIds: string[]; now: number }
  /** Another replica fired it first, or it was edited, disabled or deleted: nothing written. */
  | { outcome: 'stale' }
  /** A tick is still ahead by Redis' clock (`now`): nothing written. */
  | { outcome: 'not_due'; now: number };
