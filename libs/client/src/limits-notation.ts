/**
 * The shell notation of an API key's limits, shared by `taskq keys` and `npm run keys`:
 * `--rate 500/1s`, `--quota-tasks 1000000/1h`, `--quota-bytes 10GiB/1h`, and `default` for none of its
 * own. Only the notation is checked here; the ranges are the api's (a 400 names the field and rule).
 */

/** A rate limit as the api takes it. */
export interface RateLimitBody {
  max: number;
  per_ms: number;
}

/** A quota as the api takes it: tasks, payload bytes or both per window. */
export interface QuotaBody {
  tasks?: number;
  payload_bytes?: number;
  per_seconds: number;
}

/** The word that removes a key's own limit (the api's `null`): the environment's default applies. */
export const DEFAULT_LIMIT = 'default';

/** Notation that cannot be read; the message says what was expected. */
export class LimitNotationError extends Error {}

const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const BYTES_PER_UNIT: Record<string, number> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

function split(text: string, flag: string, example: string): [string, string] {
  const parts = text.split('/');
  if (parts.length !== 2) throw new LimitNotationError(`${flag} must look like ${example} (count/window)`);
  return [parts[0].trim(), parts[1].trim()];
}

function windowMs(text: string, flag: string, example: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match || Number(match[1]) < 1) {
    throw new LimitNotationError(`${flag}: the window must be a whole number with ms, s, m, h or d, as in ${example}`);
  }
  return Number(match[1]) * MS_PER_UNIT[match[2]];
}

function count(text: string, flag: string, units: Record<string, number>, example: string): number {
  const match = /^(\d+)([A-Za-z]*)$/.exec(text);
  if (!match || !(match[2] in units)) {
    const suffixes = Object.keys(units).filter(Boolean);
    const allowed = suffixes.length ? ` (optionally with ${suffixes.join(', ')})` : '';
    throw new LimitNotationError(`${flag}: the count must be a whole number${allowed}, as in ${example}`);
  }
  return Number(match[1]) * units[match[2]];
}

/** `500/1s` → `{max: 500, per_ms: 1000}`; `default` → null. */
export function parseRate(text: string, flag = '--rate'): RateLimitBody | null {
  if (text === DEFAULT_LIMIT) return null;
  const example = '500/1s';
  const [max, window] = split(text, flag, example);
  return { max: count(max, flag, { '': 1 }, example), per_ms: windowMs(window, flag, example) };
}

/**
 * `--quota-tasks 1000000/1h` and/or `--quota-bytes 10GiB/1h` as one quota (one window, so both must
 * give the same); `default` (either flag alone) → null; neither flag → undefined.
 */
export function parseQuota(tasks?: string, bytes?: string): QuotaBody | null | undefined {
  if (tasks === undefined && bytes === undefined) return undefined;
  if (tasks === DEFAULT_LIMIT || bytes === DEFAULT_LIMIT) {
    if (tasks !== undefined && bytes !== undefined) {
      throw new LimitNotationError(`give ${DEFAULT_LIMIT} to one of --quota-tasks and --quota-bytes, alone`);
    }
    return null;
  }
  const parts: { field: 'tasks' | 'payload_bytes'; n: number; ms: number }[] = [];
  if (tasks !== undefined) {
    const [n, window] = split(tasks, '--quota-tasks', '1000000/1h');
    parts.push({
      field: 'tasks',
      n: count(n, '--quota-tasks', { '': 1 }, '1000000/1h'),
      ms: windowMs(window, '--quota-tasks', '1000000/1h'),
    });
  }
  if (bytes !== undefined) {
    const [n, window] = split(bytes, '--quota-bytes', '10GiB/1h');
    parts.push({
      field: 'payload_bytes',
      n: count(n, '--quota-bytes', BYTES_PER_UNIT, '10GiB/1h'),
      ms: windowMs(window, '--quota-bytes', '10GiB/1h'),
    });
  }
  if (parts.some((part) => part.ms !== parts[0].ms)) {
    throw new LimitNotationError('--quota-tasks and --quota-bytes count over one window: give both the same');
  }
  if (parts[0].ms % 1000 !== 0) throw new LimitNotationError('a quota window is whole seconds: use s, m, h or d');
  const quota: QuotaBody = { per_seconds: parts[0].ms / 1000 };
  for (const part of parts) quota[part.field] = part.n;
  return quota;
}

/** The largest unit that divides `ms` exactly: 1000 → `1s`, 3_600_000 → `1h`, 1500 → `1500ms`. */
function formatWindow(ms: number): string {
  const [unit, size] = Object.entries(MS_PER_UNIT)
    .reverse()
    .find(([, size]) => ms % size === 0)!;
  return `${ms / size}${unit}`;
}

function formatBytes(bytes: number): string {
  const [unit, size] = Object.entries(BYTES_PER_UNIT)
    .reverse()
    .find(([, size]) => bytes % size === 0)!;
  return `${bytes / size}${unit}`;
}

/** `500/1s`, or `default` for none of its own: as the flags take it. */
export function formatRate(rate: RateLimitBody | null): string {
  return rate ? `${rate.max}/${formatWindow(rate.per_ms)}` : DEFAULT_LIMIT;
}

/** `1000000 tasks/1h, 10GiB/1h`, or `default`. */
export function formatQuota(
  quota: { tasks?: number | null; payload_bytes?: number | null; per_seconds: number } | null,
): string {
  if (!quota) return DEFAULT_LIMIT;
  const window = formatWindow(quota.per_seconds * 1000);
  const parts = [];
  if (quota.tasks != null) parts.push(`${quota.tasks} tasks/${window}`);
  if (quota.payload_bytes != null) parts.push(`${formatBytes(quota.payload_bytes)}/${window}`);
  return parts.join(', ');
}
