import { Cron } from 'croner';
import { canonicalTimeZone, instantOfWall, latestWallBy } from './zoned-time';

/** When a schedule fires: a cron expression read in a time zone, or a fixed interval. */
export type ScheduleSpec = { cron: string; tz: string } | { everyMs: number };

/** What a schedule does about ticks that passed while nothing fired them (see planFire). */
export type MissedPolicy = 'skip' | 'catch_up';
export const MISSED_POLICIES: readonly MissedPolicy[] = ['skip', 'catch_up'];

/** Longest cron expression taken. */
export const MAX_CRON_LENGTH = 256;
/** Shortest and longest interval of an `every_ms` schedule. */
export const EVERY_MS_LIMITS = { min: 1000, max: 31_536_000_000 } as const;
/** Most missed ticks one catch-up enqueues (`catch_up_limit`). */
export const CATCH_UP_LIMITS = { min: 1, max: 1000 } as const;

/** A spec that cannot be used: names the request field and the rule, like the api's 400s. */
export class ScheduleSpecError extends Error {
  constructor(
    readonly field: 'cron' | 'tz' | 'every_ms',
    readonly rule: string,
    message: string,
  ) {
    super(message);
    this.name = 'ScheduleSpecError';
  }
}

/** A bound on the search loops below; they end after one or two steps except across a DST change. */
const MAX_STEPS = 16;

/**
 * The ticks of a schedule, as instants (epoch ms). Built only by `scheduleTiming`, which checks the
 * spec; every other answer is computed, never guessed.
 */
export interface ScheduleTiming {
  readonly spec: ScheduleSpec;
  /** The first tick strictly after `instant`; null when there is none (a cron that never matches again). */
  nextAfter(instant: number): number | null;
  /** The last tick at or before `instant`; null when there is none. */
  latestAtOrBefore(instant: number): number | null;
}

class IntervalTiming implements ScheduleTiming {
  constructor(readonly spec: { everyMs: number }) {}

  // Multiples of every_ms since the epoch: the same ticks on every replica and after every restart.
  nextAfter(instant: number): number {
    return (Math.floor(instant / this.spec.everyMs) + 1) * this.spec.everyMs;
  }

  latestAtOrBefore(instant: number): number {
    return Math.floor(instant / this.spec.everyMs) * this.spec.everyMs;
  }
}

/**
 * A cron expression, matched by croner on the zone's wall clock (croner runs with a UTC offset of 0
 * on wall times, see zoned-time.ts), each matching wall time then mapped to its instant by the DST
 * rule of instantOfWall: a wall time in a gap fires once at the end of the gap, a repeated one once
 * at its first occurrence. Several wall times of one gap map to the same instant: one tick.
 */
class CronTiming implements ScheduleTiming {
  private readonly cron: Cron;

  constructor(readonly spec: { cron: string; tz: string }) {
    this.cron = new Cron(spec.cron, { utcOffset: 0, mode: '5-or-6-parts', paused: true });
  }

  nextAfter(instant: number): number | null {
    let wall = latestWallBy(this.spec.tz, instant);
    for (let step = 0; step < MAX_STEPS; step++) {
      const next = this.cron.nextRun(new Date(wall));
      if (!next) return null;
      const tick = instantOfWall(this.spec.tz, next.getTime());
      if (tick > instant) return tick;
      wall = next.getTime();
    }
    throw new Error(`no tick of "${this.spec.cron}" (${this.spec.tz}) found after ${new Date(instant).toISOString()}`);
  }

  latestAtOrBefore(instant: number): number | null {
    let wall = latestWallBy(this.spec.tz, instant);
    for (let step = 0; step < MAX_STEPS; step++) {
      // previousRuns gives matches strictly before its argument: +1 ms makes `wall` itself count.
      const [previous] = this.cron.previousRuns(1, new Date(wall + 1));
      if (!previous) return null;
      const tick = instantOfWall(this.spec.tz, previous.getTime());
      if (tick <= instant) return tick;
      wall = previous.getTime() - 1;
    }
    throw new Error(`no tick of "${this.spec.cron}" (${this.spec.tz}) found before ${new Date(instant).toISOString()}`);
  }
}

/**
 * Checks a spec and returns its timing; a ScheduleSpecError names the field and rule otherwise. A
 * time zone comes back in its canonical spelling (spec.tz). `now` only serves the "fires at all"
 * check.
 */
export function scheduleTiming(spec: ScheduleSpec, now: number): ScheduleTiming {
  if ('everyMs' in spec) {
    const { min, max } = EVERY_MS_LIMITS;
    if (!Number.isSafeInteger(spec.everyMs) || spec.everyMs < min || spec.everyMs > max) {
      throw new ScheduleSpecError('every_ms', 'range', `every_ms must be a whole number of ms from ${min} to ${max}`);
    }
    return new IntervalTiming({ everyMs: spec.everyMs });
  }
  const tz = canonicalTimeZone(spec.tz);
  if (tz === undefined) {
    throw new ScheduleSpecError(
      'tz',
      'isTimeZone',
      `tz "${spec.tz}" is not a time zone this server knows; use an IANA name such as Europe/Berlin or UTC`,
    );
  }
  if (spec.cron.length > MAX_CRON_LENGTH) {
    throw new ScheduleSpecError('cron', 'maxLength', `cron must be at most ${MAX_CRON_LENGTH} characters`);
  }
  let timing: CronTiming;
  try {
    timing = new CronTiming({ cron: spec.cron, tz });
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern: /, '');
    throw new ScheduleSpecError(
      'cron',
      'isCronExpression',
      `cron "${spec.cron}" is not a cron expression: ${reason}. Use 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    );
  }
  if (timing.nextAfter(now) === null) {
    throw new ScheduleSpecError('cron', 'firesAgain', `cron "${spec.cron}" never fires (no date matches it)`);
  }
  return timing;
}

/** The first `count` ticks after `instant`. */
export function nextTicks(timing: ScheduleTiming, instant: number, count: number): number[] {
  const out: number[] = [];
  let from = instant;
  while (out.length < count) {
    const next = timing.nextAfter(from);
    if (next === null) break;
    out.push(next);
    from = next;
  }
  return out;
}

/** What a schedule's stored state says about its due ticks. */
export interface DueState {
  /** The tick the schedule waits for (its stored next run). */
  nextRunAt: number;
  missed: MissedPolicy;
  catchUpLimit: number;
}

/** One fire: the ticks to enqueue now (oldest first) and the tick to wait for next. */
export interface FirePlan {
  ticks: number[];
  /** null: the schedule has no tick left (it stays, but never fires again). */
  next: number | null;
  /** The due ticks not enqueued: [first, last], or null when every due tick is enqueued. */
  skipped: [number, number] | null;
}

/**
 * Which ticks fire at `now`, or undefined when none is due yet. Every tick from `nextRunAt` up to
 * `now` is due. `catch_up` enqueues the latest `catchUpLimit` of them, oldest first (older ones are
 * skipped). `skip` enqueues only the latest, and only when it is at most `graceMs` late: after a
 * downtime the schedule resumes at its next future tick. Either way the schedule then waits for the
 * first tick after `now`.
 */
export function planFire(timing: ScheduleTiming, state: DueState, now: number, graceMs: number): FirePlan | undefined {
  if (state.nextRunAt > now) return undefined;
  const next = timing.nextAfter(now);
  const latest = timing.latestAtOrBefore(now);
  const ticks: number[] = [];
  if (latest !== null && latest >= state.nextRunAt) {
    if (state.missed === 'skip') {
      if (now - latest <= graceMs) ticks.push(latest);
    } else {
      for (let tick: number | null = latest; tick !== null && tick >= state.nextRunAt;) {
        ticks.unshift(tick);
        if (ticks.length >= state.catchUpLimit) break;
        tick = timing.latestAtOrBefore(tick - 1);
      }
    }
  }
  const lastSkipped = ticks.length > 0 ? timing.latestAtOrBefore(ticks[0] - 1) : latest;
  const skipped: [number, number] | null =
    lastSkipped !== null && lastSkipped >= state.nextRunAt ? [state.nextRunAt, lastSkipped] : null;
  return { ticks, next, skipped };
}
