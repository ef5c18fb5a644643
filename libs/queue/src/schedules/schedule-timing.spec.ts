import { nextTicks, planFire, ScheduleSpecError, scheduleTiming, ScheduleTiming } from './schedule-timing';
import { instantOfWall, latestWallBy, wallTimeAt } from './zoned-time';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** A fixed "now" for every test: no test reads the real clock. */
const NOW = at('2024-01-15T12:00:00Z');

function cron(expression: string, tz = 'UTC'): ScheduleTiming {
  return scheduleTiming({ cron: expression, tz }, NOW);
}

function specError(run: () => unknown): Pick<ScheduleSpecError, 'field' | 'rule'> {
  try {
    run();
  } catch (error) {
    if (error instanceof ScheduleSpecError) return { field: error.field, rule: error.rule };
    throw error;
  }
  throw new Error('no ScheduleSpecError');
}

describe('schedule timing: next ticks', () => {
  it('every_ms ticks at multiples of the interval since the epoch, the same on every replica', () => {
    const every = scheduleTiming({ everyMs: 60_000 }, NOW);
    expect(iso(every.nextAfter(at('2024-01-15T12:00:00Z')))).toBe('2024-01-15T12:01:00.000Z');
    expect(iso(every.nextAfter(at('2024-01-15T12:00:59.999Z')))).toBe('2024-01-15T12:01:00.000Z');
    expect(iso(every.latestAtOrBefore(at('2024-01-15T12:00:00Z')))).toBe('2024-01-15T12:00:00.000Z');
    expect(nextTicks(scheduleTiming({ everyMs: 1500 }, NOW), 0, 3)).toEqual([1500, 3000, 4500]);
  });

  it('reads 5 fields as minute precision and 6 fields as seconds first', () => {
    expect(nextTicks(cron('*/20 * * * * *'), at('2024-01-15T12:00:00Z'), 3).map(iso)).toEqual([
      '2024-01-15T12:00:20.000Z',
      '2024-01-15T12:00:40.000Z',
      '2024-01-15T12:01:00.000Z',
    ]);
    expect(nextTicks(cron('0 3 * * *'), NOW, 2).map(iso)).toEqual([
      '2024-01-16T03:00:00.000Z',
      '2024-01-17T03:00:00.000Z',
    ]);
    expect(iso(cron('0 3 * * *').latestAtOrBefore(NOW))).toBe('2024-01-15T03:00:00.000Z');
    expect(iso(cron('0 3 * * *').latestAtOrBefore(at('2024-01-15T03:00:00Z')))).toBe('2024-01-15T03:00:00.000Z');
  });

  it('reads the expression on the time zone’s wall clock', () => {
    // 03:00 in Berlin is 02:00 UTC in winter and 01:00 UTC in summer.
    expect(nextTicks(cron('0 3 * * *', 'Europe/Berlin'), at('2024-07-01T00:00:00Z'), 1).map(iso)).toEqual([
      '2024-07-01T01:00:00.000Z',
    ]);
    expect(iso(cron('0 9 * * MON-FRI', 'America/New_York').nextAfter(at('2024-01-13T00:00:00Z')))).toBe(
      '2024-01-15T14:00:00.000Z',
    );
    expect(cron('0 3 * * *', 'europe/berlin').spec).toEqual({ cron: '0 3 * * *', tz: 'Europe/Berlin' });
  });

  it('refuses a bad expression, an unknown time zone, a cron that never fires, naming the field and rule', () => {
    expect(specError(() => cron('61 * * * *'))).toEqual({ field: 'cron', rule: 'isCronExpression' });
    expect(specError(() => cron('* * * *'))).toEqual({ field: 'cron', rule: 'isCronExpression' });
    expect(specError(() => cron('0 0 0 * * * *'))).toEqual({ field: 'cron', rule: 'isCronExpression' });
    expect(specError(() => cron('every day'))).toEqual({ field: 'cron', rule: 'isCronExpression' });
    expect(specError(() => cron('0 0 30 2 *'))).toEqual({ field: 'cron', rule: 'firesAgain' });
    expect(specError(() => cron('0 3 * * *', 'Mars/Olympus_Mons'))).toEqual({ field: 'tz', rule: 'isTimeZone' });
    expect(specError(() => cron('0 3 * * *', ''))).toEqual({ field: 'tz', rule: 'isTimeZone' });
    expect(specError(() => scheduleTiming({ everyMs: 999 }, NOW))).toEqual({ field: 'every_ms', rule: 'range' });
  });
});

/**
 * The DST rule (README, Schedules): a wall time the clocks skip fires once, at the first instant
 * after the gap; a wall time the clocks show twice fires once, at its first occurrence.
 * Europe/Berlin: 2024-03-31 02:00 CET → 03:00 CEST (01:00 UTC); 2024-10-27 03:00 CEST → 02:00 CET (01:00 UTC).
 */
describe('schedule timing: DST, with fixed instants', () => {
  const berlin = (expression: string) => cron(expression, 'Europe/Berlin');

  it('maps wall times to instants by that rule', () => {
    const wall = (s: string) => at(`${s}Z`);
    expect(iso(instantOfWall('Europe/Berlin', wall('2024-03-31T01:59:59')))).toBe('2024-03-31T00:59:59.000Z');
    expect(iso(instantOfWall('Europe/Berlin', wall('2024-03-31T02:30:00')))).toBe('2024-03-31T01:00:00.000Z');
    expect(iso(instantOfWall('Europe/Berlin', wall('2024-03-31T03:00:00')))).toBe('2024-03-31T01:00:00.000Z');
    expect(iso(instantOfWall('Europe/Berlin', wall('2024-10-27T02:30:00')))).toBe('2024-10-27T00:30:00.000Z');
    expect(iso(instantOfWall('Europe/Berlin', wall('2024-10-27T03:00:00')))).toBe('2024-10-27T02:00:00.000Z');
    // During the repeated hour the clocks have already shown every wall time up to 03:00.
    expect(iso(wallTimeAt('Europe/Berlin', at('2024-10-27T01:15:00Z')))).toBe('2024-10-27T02:15:00.000Z');
    expect(iso(latestWallBy('Europe/Berlin', at('2024-10-27T01:15:00Z')))).toBe('2024-10-27T02:59:59.999Z');
    expect(iso(latestWallBy('Europe/Berlin', at('2024-10-27T02:15:00Z')))).toBe('2024-10-27T03:15:00.000Z');
  });

  it('spring forward: a daily tick in the skipped hour runs once, at 03:00, neither twice nor never', () => {
    expect(nextTicks(berlin('30 2 * * *'), at('2024-03-29T12:00:00Z'), 4).map(iso)).toEqual([
      '2024-03-30T01:30:00.000Z', // 02:30 CET
      '2024-03-31T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
      '2024-04-01T00:30:00.000Z', // 02:30 CEST
      '2024-04-02T00:30:00.000Z',
    ]);
  });

  it('spring forward: every tick of the skipped hour collapses into one at 03:00, nothing twice', () => {
    expect(nextTicks(berlin('*/30 * * * *'), at('2024-03-31T00:00:00Z'), 4).map(iso)).toEqual([
      '2024-03-31T00:30:00.000Z', // 01:30 CET
      '2024-03-31T01:00:00.000Z', // 02:00, 02:30 (skipped) and 03:00 CEST: one tick
      '2024-03-31T01:30:00.000Z', // 03:30 CEST
      '2024-03-31T02:00:00.000Z',
    ]);
    expect(iso(berlin('*/30 * * * *').latestAtOrBefore(at('2024-03-31T01:00:00Z')))).toBe('2024-03-31T01:00:00.000Z');
    expect(iso(berlin('*/30 * * * *').latestAtOrBefore(at('2024-03-31T00:59:59Z')))).toBe('2024-03-31T00:30:00.000Z');
  });

  it('fall back: a tick in the repeated hour runs once, at its first occurrence', () => {
    expect(nextTicks(berlin('30 2 * * *'), at('2024-10-26T12:00:00Z'), 3).map(iso)).toEqual([
      '2024-10-27T00:30:00.000Z', // 02:30 CEST; 02:30 CET (01:30 UTC) does not run again
      '2024-10-28T01:30:00.000Z', // 02:30 CET
      '2024-10-29T01:30:00.000Z',
    ]);
    expect(nextTicks(berlin('*/30 * * * *'), at('2024-10-26T23:00:00Z'), 4).map(iso)).toEqual([
      '2024-10-26T23:30:00.000Z', // 01:30 CEST
      '2024-10-27T00:00:00.000Z', // 02:00 CEST
      '2024-10-27T00:30:00.000Z', // 02:30 CEST; the repeated 02:00 and 02:30 CET do not run
      '2024-10-27T02:00:00.000Z', // 03:00 CET
    ]);
  });

  it('fall back: asked from inside the repeated hour, the next tick is after it and the latest is its first pass', () => {
    const half = berlin('*/30 * * * *');
    expect(iso(half.nextAfter(at('2024-10-27T01:15:00Z')))).toBe('2024-10-27T02:00:00.000Z');
    expect(iso(half.latestAtOrBefore(at('2024-10-27T01:45:00Z')))).toBe('2024-10-27T00:30:00.000Z');
    expect(iso(berlin('15 2 * * *').nextAfter(at('2024-10-27T01:00:00Z')))).toBe('2024-10-28T01:15:00.000Z');
  });

  it('holds in other zones: New York (02:00 → 03:00) and Lord Howe (a 30-minute change)', () => {
    expect(nextTicks(cron('30 2 * * *', 'America/New_York'), at('2024-03-09T12:00:00Z'), 2).map(iso)).toEqual([
      '2024-03-10T07:00:00.000Z', // 02:30 does not exist: 03:00 EDT
      '2024-03-11T06:30:00.000Z',
    ]);
    // Lord Howe: 2024-10-06 02:00 (+10:30) → 02:30 (+11).
    expect(nextTicks(cron('15 2 * * *', 'Australia/Lord_Howe'), at('2024-10-05T00:00:00Z'), 2).map(iso)).toEqual([
      '2024-10-05T15:30:00.000Z', // 02:15 does not exist: 02:30 (+11)
      '2024-10-06T15:15:00.000Z',
    ]);
  });
});

describe('planFire: what fires after a delay or a downtime', () => {
  const minute = scheduleTiming({ everyMs: 60_000 }, NOW);
  const T0 = at('2024-01-15T12:00:00Z');
  const GRACE = 60_000;

  it('fires nothing before the tick', () => {
    expect(planFire(minute, { nextRunAt: T0, missed: 'skip', catchUpLimit: 10 }, T0 - 1, GRACE)).toBeUndefined();
  });

  it('fires a tick that is due, late or not, and waits for the next', () => {
    for (const missed of ['skip', 'catch_up'] as const) {
      expect(planFire(minute, { nextRunAt: T0, missed, catchUpLimit: 10 }, T0 + 250, GRACE)).toEqual({
        ticks: [T0],
        next: T0 + 60_000,
        skipped: null,
      });
    }
  });

  it('skip: after a downtime resumes at the next future tick; only a tick within the grace still runs', () => {
    const state = { nextRunAt: T0, missed: 'skip' as const, catchUpLimit: 10 };
    // Down for 10 min: 11 ticks passed; the latest, 5 s ago, runs; the 10 before it are skipped.
    expect(planFire(minute, state, T0 + 605_000, GRACE)).toEqual({
      ticks: [T0 + 600_000],
      next: T0 + 660_000,
      skipped: [T0, T0 + 540_000],
    });
    // The latest tick is 50 s old and the grace is 30 s: nothing runs, the next tick is in 10 s.
    expect(planFire(minute, state, T0 + 650_000, 30_000)).toEqual({
      ticks: [],
      next: T0 + 660_000,
      skipped: [T0, T0 + 600_000],
    });
  });

  it('catch_up: enqueues the latest catch_up_limit missed ticks, oldest first', () => {
    expect(planFire(minute, { nextRunAt: T0, missed: 'catch_up', catchUpLimit: 3 }, T0 + 605_000, GRACE)).toEqual({
      ticks: [T0 + 480_000, T0 + 540_000, T0 + 600_000],
      next: T0 + 660_000,
      skipped: [T0, T0 + 420_000],
    });
    expect(planFire(minute, { nextRunAt: T0, missed: 'catch_up', catchUpLimit: 20 }, T0 + 125_000, GRACE)).toEqual({
      ticks: [T0, T0 + 60_000, T0 + 120_000],
      next: T0 + 180_000,
      skipped: null,
    });
  });

  it('catch_up across a spring-forward gap: the collapsed ticks are one', () => {
    const half = cron('*/30 * * * *', 'Europe/Berlin');
    const plan = planFire(
      half,
      { nextRunAt: at('2024-03-31T00:30:00Z'), missed: 'catch_up', catchUpLimit: 10 },
      at('2024-03-31T01:40:00Z'),
      GRACE,
    );
    expect({ ticks: plan?.ticks.map(iso), next: iso(plan?.next ?? null) }).toEqual({
      ticks: ['2024-03-31T00:30:00.000Z', '2024-03-31T01:00:00.000Z', '2024-03-31T01:30:00.000Z'],
      next: '2024-03-31T02:00:00.000Z',
    });
  });
});
