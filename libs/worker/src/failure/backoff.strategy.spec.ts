import { ExponentialJitterBackoff } from './backoff.strategy';

describe('ExponentialJitterBackoff', () => {
  const options = { baseMs: 1000, maxMs: 10_000 };

  it('doubles the ceiling per attempt up to the cap', () => {
    const top = new ExponentialJitterBackoff(() => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map((attempt) => top.delayMs(attempt, options))).toEqual([
      999, 1999, 3999, 7999, 9999, 9999,
    ]);
  });

  it('draws uniformly from zero (full jitter)', () => {
    expect(new ExponentialJitterBackoff(() => 0).delayMs(3, options)).toBe(0);
    expect(new ExponentialJitterBackoff(() => 0.5).delayMs(3, options)).toBe(2000);
  });

  it('never overflows on huge attempt counts', () => {
    expect(new ExponentialJitterBackoff(() => 0.5).delayMs(10_000, options)).toBe(5000);
  });
});
