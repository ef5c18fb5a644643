import { decideFailure, encodeResult } from './run-outcome-rules';

describe('decideFailure', () => {
  const typeDelay = (attempt: number) => attempt * 1000;

  it('dead-letters a permanent failure at once, whatever attempts remain', () => {
    expect(decideFailure({ attempt: 1, maxRetries: 5 }, { permanent: 'non_retryable' }, typeDelay)).toEqual({
      action: 'dead',
      reason: 'non_retryable',
    });
  });

  it("retries while attempts remain, after the type's backoff", () => {
    expect(decideFailure({ attempt: 3, maxRetries: 3 }, {}, typeDelay)).toEqual({ action: 'retry', delayMs: 3000 });
  });

  it("prefers the task's own backoff to its type's", () => {
    const task = { attempt: 2, maxRetries: 3, backoff: { type: 'fixed' as const, baseMs: 7, jitter: false } };
    expect(decideFailure(task, {}, typeDelay)).toEqual({ action: 'retry', delayMs: 7 });
  });

  it('dead-letters the last attempt: timeout when it timed out, else max_retries', () => {
    expect(decideFailure({ attempt: 4, maxRetries: 3 }, {}, typeDelay)).toEqual({
      action: 'dead',
      reason: 'max_retries',
    });
    expect(decideFailure({ attempt: 1, maxRetries: 0 }, { timedOut: true }, typeDelay)).toEqual({
      action: 'dead',
      reason: 'timeout',
    });
  });
});

describe('encodeResult', () => {
  it('encodes any JSON value, undefined as null', () => {
    expect(encodeResult({ a: [1, 'b'] }, 100)).toEqual({ json: '{"a":[1,"b"]}' });
    expect(encodeResult(undefined, 100)).toEqual({ json: 'null' });
  });

  it('measures bytes of UTF-8, not characters', () => {
    // '€' is 3 bytes: 32 of them and the quotes are 98 bytes, 33 are 101.
    expect(encodeResult('€'.repeat(32), 100)).toEqual({ json: `"${'€'.repeat(32)}"` });
    expect(encodeResult('€'.repeat(33), 100)).toEqual({
      dead: expect.objectContaining({
        reason: 'result_too_large',
        error: expect.stringMatching(/^result is 101 bytes of JSON, over MAX_RESULT_BYTES \(100\)/),
      }),
    });
  });

  it('refuses what JSON cannot hold as non_retryable', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const value of [{ n: 1n }, cycle]) {
      expect(encodeResult(value, 1000)).toEqual({
        dead: expect.objectContaining({
          reason: 'non_retryable',
          error: expect.stringContaining('result is not JSON-serializable'),
        }),
      });
    }
  });
});
