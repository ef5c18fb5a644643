import { MAX_BODY_DEPTH, nestsDeeperThan, textNestsDeeperThan } from './body-depth';

describe('body depth limit', () => {
  const nested = (depth: number) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

  it('measures nesting: a scalar is 0 deep, each object or array one more', () => {
    expect(nestsDeeperThan('text', 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
    expect(nestsDeeperThan([1, [2, [3]], { a: { b: null } }], 3)).toBe(false);
    expect(nestsDeeperThan([1, [2, [3, []]]], 3)).toBe(true);
  });

  it('walks a body nested far past the stack depth without overflowing', () => {
    expect(nestsDeeperThan(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)), MAX_BODY_DEPTH)).toBe(true);
    expect(nestsDeeperThan(nested(MAX_BODY_DEPTH), MAX_BODY_DEPTH)).toBe(false);
  });

  it('measures the text the way it measures the value, ignoring brackets in strings, in one pass', () => {
    const samples = [
      '1',
      '{}',
      '[1,[2,[3]],{"a":{"b":null}}]',
      '[1,[2,[3,[]]]]',
      '{"s":"[[[[{{{{","t":"\\"[["}',
      '["\\\\",[["x"]]]',
      `${'{"a":'.repeat(5)}1${'}'.repeat(5)}`,
    ];
    for (const text of samples) {
      for (const limit of [0, 1, 2, 3, 4, 5]) {
        expect({ text, limit, deeper: textNestsDeeperThan(text, limit) }).toEqual({
          text,
          limit,
          deeper: nestsDeeperThan(JSON.parse(text), limit),
        });
      }
    }
    expect(textNestsDeeperThan('['.repeat(8_000_000) + ']'.repeat(8_000_000), MAX_BODY_DEPTH)).toBe(true);
  });
});
