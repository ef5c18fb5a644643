import { describeError, errorDetail } from './run-errors';

describe('describeError', () => {
  it('names Errors', () => {
    expect(describeError(new TypeError('bad'))).toBe('TypeError: bad');
  });

  it('describes values that are not Errors', () => {
    expect(describeError('plain')).toBe('non-Error thrown (string): plain');
    expect(describeError(undefined)).toBe('non-Error thrown (undefined): undefined');
    expect(describeError(null)).toBe('non-Error thrown (null): null');
    expect(describeError({ code: 7 })).toBe('non-Error thrown (object): {"code":7}');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeError(circular)).toBe('non-Error thrown (object): [object Object]');
  });

  it('truncates huge messages', () => {
    const text = describeError(new Error('x'.repeat(1_000_000)));
    expect(text.length).toBeLessThan(4100);
    expect(text).toContain('truncated');
  });
});

describe('errorDetail', () => {
  it('is the stack of an Error (name, message, frames), else the one-line description', () => {
    const error = new RangeError('too far');
    expect(errorDetail(error)).toBe(error.stack);
    expect(errorDetail(error)).toMatch(/^RangeError: too far\n\s+at /);
    expect(errorDetail('plain')).toBe('non-Error thrown (string): plain');
    const odd = new Error('renamed');
    odd.stack = 'frames only';
    expect(errorDetail(odd)).toBe('Error: renamed\nframes only');
  });
});
