import { TaskBackoff } from '@app/contracts';
import { decodeBackoff, encodeBackoff } from './backoff-field';

describe('the stored backoff field', () => {
  it.each<[TaskBackoff, string]>([
    [{ delaysMs: [1000, 5000, 30_000] }, 'd:1000,5000,30000'],
    [{ delaysMs: [0] }, 'd:0'],
    [{ type: 'exponential', baseMs: 500, maxMs: 60_000, jitter: true }, 'e:500:60000:1'],
    [{ type: 'fixed', baseMs: 750, jitter: false }, 'f:750::0'],
    [{ type: 'exponential', baseMs: 1, jitter: false }, 'e:1::0'],
  ])('round-trips %j as %s', (backoff, text) => {
    expect(encodeBackoff(backoff)).toBe(text);
    expect(decodeBackoff(text)).toEqual(backoff);
  });

  it('reads nothing, or anything it did not write, as none (the type backoff applies)', () => {
    for (const text of [
      undefined,
      null,
      '',
      'd:',
      'd:1,,2',
      'd:-1',
      'x:1::0',
      'e:1:2',
      'e::5:1',
      'f:1::2',
      '{"a":1}',
    ]) {
      expect(decodeBackoff(text)).toBeNull();
    }
  });
});
