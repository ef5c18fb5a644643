import { isFinished, retryAfterMs } from './client';

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');

  it.each([
    ['1', 1000],
    [' 30 ', 30_000],
    ['0', 0],
    ['Sat, 28 Nov 2026 12:00:02 GMT', 2000],
    ['Sat, 28 Nov 2026 11:59:00 GMT', 0],
  ])('reads %p as %p ms', (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });

  it.each([[null], [''], ['soon'], ['-1']])('has no delay for %p', (header) => {
    expect(retryAfterMs(header, now)).toBeUndefined();
  });
});

describe('isFinished', () => {
  it('is true for the states a task does not leave by itself', () => {
    const finished = ['scheduled', 'queued', 'active', 'retrying', 'succeeded', 'dead', 'cancelled'].filter((status) =>
      isFinished({ status: status as never }),
    );
    expect(finished).toEqual(['succeeded', 'dead', 'cancelled']);
  });
});
