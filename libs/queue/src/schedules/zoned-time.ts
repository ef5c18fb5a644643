/**
 * Wall-clock time in an IANA time zone, from the runtime's own zone data (Intl). A "wall time" here is
 * a number of ms whose UTC fields are the zone's local fields (2024-03-31 02:30 in Berlin is
 * Date.UTC(2024, 2, 31, 2, 30)), so a cron expression can be matched on it with no DST at all, and
 * the DST rule is applied once, where a wall time becomes an instant (instantOfWall).
 */

const HOUR = 3_600_000;
/** Wider than any UTC offset (−12 h … +14 h) on either side: where the instant of a wall time can be. */
const OFFSET_REACH = 15 * HOUR;
/** Longer than any clock change: how far back a fold (clocks set back) can still matter. */
const FOLD_REACH = 6 * HOUR;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The zone's canonical name (`europe/berlin` → `Europe/Berlin`), or undefined when the runtime knows no such zone. */
export function canonicalTimeZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The zone's UTC offset at `instant`, ms (wall time − instant). */
export function offsetAt(timeZone: string, instant: number): number {
  const second = Math.floor(instant / 1000) * 1000;
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(second)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wall = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
  return wall - second;
}

export function wallTimeAt(timeZone: string, instant: number): number {
  return instant + offsetAt(timeZone, instant);
}

/** The first instant in (lo, hi] whose offset is no longer `before` (whole seconds; lo has `before`). */
function transitionIn(timeZone: string, lo: number, hi: number, before: number): number {
  let low = Math.floor(lo / 1000);
  let high = Math.ceil(hi / 1000);
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (offsetAt(timeZone, mid * 1000) === before) low = mid;
    else high = mid;
  }
  return high * 1000;
}

/**
 * The instant a wall time stands for, by our DST rule: a wall time that occurs once is that
 * instant; one that occurs twice (clocks set back) is its first occurrence; one that does not occur
 * (clocks set forward) is the first instant after the gap, the moment the clocks jumped.
 */
export function instantOfWall(timeZone: string, wall: number): number {
  const before = offsetAt(timeZone, wall - OFFSET_REACH);
  const after = offsetAt(timeZone, wall + OFFSET_REACH);
  const candidates = [...new Set([wall - before, wall - after])].filter(
    (instant) => instant + offsetAt(timeZone, instant) === wall,
  );
  if (candidates.length > 0) return Math.min(...candidates);
  // In a gap the offset grew from `before` to `after`: the jump happened between these two instants.
  return transitionIn(timeZone, wall - after, wall - before, before);
}

/**
 * The latest wall time the zone's clocks have shown by `instant`. It is the wall time at `instant`,
 * except while the clocks repeat an hour they were set back over: then it is the end of that hour,
 * since every wall time of the repeated hour occurred already (its first occurrence).
 */
export function latestWallBy(timeZone: string, instant: number): number {
  const now = offsetAt(timeZone, instant);
  const earlier = offsetAt(timeZone, instant - FOLD_REACH);
  const wall = instant + now;
  if (earlier <= now) return wall;
  const setBack = transitionIn(timeZone, instant - FOLD_REACH, instant, earlier);
  // Wall times just before the clocks were set back reached setBack + earlier (exclusive).
  return Math.max(wall, setBack + earlier - 1);
}
