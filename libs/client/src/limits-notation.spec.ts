import { formatQuota, formatRate, LimitNotationError, parseQuota, parseRate } from './limits-notation';

describe('the shell notation of a key limits', () => {
  it('reads a rate as max/window and writes it back the same way', () => {
    expect(parseRate('500/1s')).toEqual({ max: 500, per_ms: 1000 });
    expect(parseRate('100000/1m')).toEqual({ max: 100_000, per_ms: 60_000 });
    expect(parseRate('7/1500ms')).toEqual({ max: 7, per_ms: 1500 });
    expect(parseRate('default')).toBeNull();
    for (const text of ['500/1s', '100000/1m', '7/1500ms', '3/90s', '1/1d'])
      expect(formatRate(parseRate(text))).toBe(text);
    expect(formatRate(null)).toBe('default');
  });

  it('reads a quota of tasks and/or bytes over one window', () => {
    expect(parseQuota('1000000/1h')).toEqual({ tasks: 1_000_000, per_seconds: 3600 });
    expect(parseQuota(undefined, '10GiB/1h')).toEqual({ payload_bytes: 10 * 1024 ** 3, per_seconds: 3600 });
    expect(parseQuota('5/60s', '512KiB/1m')).toEqual({ tasks: 5, payload_bytes: 512 * 1024, per_seconds: 60 });
    expect(parseQuota(undefined, undefined)).toBeUndefined();
    expect(parseQuota('default')).toBeNull();
    expect(formatQuota({ tasks: 1_000_000, payload_bytes: 10 * 1024 ** 3, per_seconds: 3600 })).toBe(
      '1000000 tasks/1h, 10GiB/1h',
    );
    expect(formatQuota({ tasks: null, payload_bytes: 1000, per_seconds: 90 })).toBe('1000/90s');
    expect(formatQuota(null)).toBe('default');
  });

  it('says what it expected of notation it cannot read', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => parseRate('500'), /--rate must look like 500\/1s/],
      [() => parseRate('500/1w'), /window must be a whole number with ms, s, m, h or d/],
      [() => parseRate('five/1s'), /count must be a whole number, as in 500\/1s/],
      [() => parseRate('500/0s'), /window must be a whole number/],
      [() => parseQuota(undefined, '10GB/1h'), /optionally with KiB, MiB, GiB, TiB/],
      [() => parseQuota('5/1m', '5/1h'), /one window: give both the same/],
      [() => parseQuota('5/1500ms'), /whole seconds/],
      [() => parseQuota('default', '5/1h'), /give default to one of/],
    ];
    for (const [parse, message] of cases) {
      expect(parse).toThrow(LimitNotationError);
      expect(parse).toThrow(message);
    }
  });
});
