import { BACKOFF_LIMITS, backoffDelayMs, TaskBackoff } from './backoff';

describe('backoffDelayMs', () => {
  const retries = (backoff: TaskBackoff, random?: () => number) =>
    [1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(backoff, attempt, random));

  it('fixed: every retry waits base_ms', () => {
    expect(retries({ type: 'fixed', baseMs: 750, jitter: false })).toEqual([750, 750, 750, 750, 750]);
    // max_ms caps it like any delay (the api refuses a max_ms under base_ms).
    expect(retries({ type: 'fixed', baseMs: 750, maxMs: 500, jitter: false })).toEqual([500, 500, 500, 500, 500]);
  });

  it('exponential: base_ms doubling per retry, capped at max_ms', () => {
    expect(retries({ type: 'exponential', baseMs: 100, maxMs: 1000, jitter: false })).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });

  it('exponential without max_ms: capped at the largest max_ms, never overflowing', () => {
    const backoff: TaskBackoff = { type: 'exponential', baseMs: BACKOFF_LIMITS.baseMs.max, jitter: false };
    expect(backoffDelayMs(backoff, 1)).toBe(86_400_000);
    expect(backoffDelayMs(backoff, 4)).toBe(BACKOFF_LIMITS.maxMs.max);
    expect(backoffDelayMs(backoff, 100_000)).toBe(BACKOFF_LIMITS.maxMs.max);
    expect(Number.isSafeInteger(backoffDelayMs({ ...backoff, baseMs: 1 }, 1e9))).toBe(true);
  });

  it('jitter: uniform in [0, delay] (full jitter), for either curve', () => {
    const curve = { baseMs: 1000, maxMs: 10_000, jitter: true };
    expect(retries({ type: 'exponential', ...curve }, () => 0)).toEqual([0, 0, 0, 0, 0]);
    expect(retries({ type: 'exponential', ...curve }, () => 0.5)).toEqual([500, 1000, 2000, 4000, 5000]);
    expect(retries({ type: 'exponential', ...curve }, () => 0.999999)).toEqual([999, 1999, 3999, 7999, 9999]);
    expect(retries({ type: 'fixed', ...curve }, () => 0.25)).toEqual([250, 250, 250, 250, 250]);
  });

  it('no jitter unless asked: random is not consulted', () => {
    const random = jest.fn(() => 0);
    expect(retries({ type: 'exponential', baseMs: 10, jitter: false }, random)).toEqual([10, 20, 40, 80, 160]);
    expect(random).not.toHaveBeenCalled();
  });

  it('delays_ms: the n-th retry waits the n-th delay, and the last one repeats', () => {
    expect(retries({ delaysMs: [1000, 5000, 30_000] })).toEqual([1000, 5000, 30_000, 30_000, 30_000]);
    expect(retries({ delaysMs: [0] })).toEqual([0, 0, 0, 0, 0]);
  });

  it('reads attempt 0 or a fraction as the first retry', () => {
    expect(backoffDelayMs({ delaysMs: [7, 9] }, 0)).toBe(7);
    expect(backoffDelayMs({ type: 'exponential', baseMs: 10, jitter: false }, 2.7)).toBe(20);
  });
});
