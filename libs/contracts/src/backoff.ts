/**
 * How long a failed run waits before its retry. A task type's default is an exponential curve with
 * full jitter (BackoffOptions, overridable per type); a submitter may give a task its own instead:
 * - a curve, `fixed` (every retry waits baseMs) or `exponential` (the n-th retry waits
 *   baseMs * 2^(n-1)), each delay capped at maxMs; with `jitter`, drawn uniformly from [0, delay]
 *   (full jitter) instead, so many tasks that failed together do not retry together;
 * - a schedule, `delaysMs`: the n-th retry waits delaysMs[n-1], and the last one repeats.
 */
export type TaskBackoff =
  { type: 'fixed' | 'exponential'; baseMs: number; maxMs?: number; jitter: boolean } | { delaysMs: number[] };

export const BACKOFF_TYPES = ['fixed', 'exponential'] as const;

/**
 * The bounds a task's own backoff is held to (the api's validation states them): the curve's the
 * same as RETRY_BACKOFF_BASE_MS / RETRY_BACKOFF_MAX_MS, a schedule at most one delay per retry.
 */
export const BACKOFF_LIMITS = {
  baseMs: { min: 1, max: 86_400_000 },
  maxMs: { min: 1, max: 604_800_000 },
  delayMs: { min: 0, max: 604_800_000 },
  delays: { min: 1, max: 100 },
} as const;

/**
 * The delay before the retry of run `attempt` (1 for the first run), in whole ms. A curve without
 * maxMs is capped at the largest maxMs, so the delay is always a whole number a script accepts.
 */
export function backoffDelayMs(backoff: TaskBackoff, attempt: number, random: () => number = Math.random): number {
  const retry = Math.max(1, Math.floor(attempt));
  if ('delaysMs' in backoff) return backoff.delaysMs[Math.min(retry, backoff.delaysMs.length) - 1] ?? 0;
  const cap = Math.min(backoff.maxMs ?? BACKOFF_LIMITS.maxMs.max, BACKOFF_LIMITS.maxMs.max);
  // 2^52 times any base is past every cap; a larger exponent would only risk Infinity.
  const growth = backoff.type === 'exponential' ? 2 ** Math.min(retry - 1, 52) : 1;
  const delay = Math.min(cap, backoff.baseMs * growth);
  return backoff.jitter ? Math.floor(random() * delay) : Math.floor(delay);
}

/**
 * A task type's retry curve (its BackoffOptions over RETRY_BACKOFF_*): exponential with full jitter. The
 * native worker's backoff strategy and the api's HTTP worker protocol both wait this.
 */
export function typeBackoffDelayMs(
  { baseMs, maxMs }: { baseMs: number; maxMs: number },
  attempt: number,
  random: () => number = Math.random,
): number {
  return backoffDelayMs({ type: 'exponential', baseMs, maxMs, jitter: true }, attempt, random);
}
