import { MAX_BODY_DEPTH, nestsDeeperThan } from './body-depth';

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
});
