import { Logger } from '@nestjs/common';
import { NonRetryableError, TaskContract, TaskContractRegistry } from '@app/contracts';
import { ClaimedTask } from '@app/queue';
import { InvalidPayloadError, TaskTimeoutError, UnknownTaskTypeError } from '../run/run-errors';
import { AbandonReason, RunContext, RunOutcome } from '../run/task-context';
import { ExponentialJitterBackoff } from './backoff.strategy';
import { DeadLetterLog } from './dead-letter-log';
import { FailurePolicy } from './failure-policy';

/** The failure policy's decision for each kind of error and attempt, with the real backoff at a fixed draw. */
describe('FailurePolicy', () => {
  const contracts = new TaskContractRegistry(
    [
      {
        type: 'report',
        description: 'report',
        example: null,
        defaults: { backoff: { baseMs: 100, maxMs: 1000 } },
        check: (payload) => ({ ok: true, value: payload }),
      } satisfies TaskContract,
    ],
    { maxRetries: 3, timeoutMs: 60_000, backoff: { baseMs: 1000, maxMs: 3_600_000 } },
  );
  const policy = new FailurePolicy(new ExponentialJitterBackoff(() => 0.5), contracts, new DeadLetterLog());

  beforeAll(() => Logger.overrideLogger(false));

  function run(attempt: number, over: { type?: string; maxRetries?: number; abandoned?: AbandonReason } = {}) {
    const task = {
      id: 'default.1',
      queue: 'default',
      type: over.type ?? 'report',
      attempt,
      maxRetries: over.maxRetries ?? 3,
    } as ClaimedTask;
    return { task, abandoned: over.abandoned, handler: {}, abort: () => undefined } as unknown as RunContext;
  }
  const failing = (error: unknown) => () => Promise.reject(error);

  it('passes an outcome through untouched', async () => {
    const outcome: RunOutcome = { kind: 'succeeded', result: 1 };
    expect(await policy.intercept(run(1), () => Promise.resolve(outcome))).toBe(outcome);
  });

  it('retries while attempts remain, after the task type’s backoff (full jitter over base × 2^(attempt-1))', async () => {
    expect(await policy.intercept(run(1), failing(new Error('boom')))).toMatchObject({
      kind: 'retry',
      delayMs: 50,
      error: 'Error: boom',
    });
    expect(await policy.intercept(run(3), failing(new Error('boom')))).toMatchObject({ kind: 'retry', delayMs: 200 });
    // Capped by the type's maxMs (1 s), not the deployment's.
    expect(await policy.intercept(run(8, { maxRetries: 10 }), failing(new Error('x')))).toMatchObject({
      delayMs: 500,
    });
    // A type without a contract of its own: the deployment's backoff.
    expect(await policy.intercept(run(1, { type: 'other' }), failing(new Error('x')))).toMatchObject({
      delayMs: 500,
    });
  });

  it('dead-letters once attempts are used up: timeout for a timed-out last run, max_retries otherwise', async () => {
    expect(await policy.intercept(run(4), failing(new Error('boom')))).toMatchObject({
      kind: 'dead',
      reason: 'max_retries',
    });
    expect(await policy.intercept(run(4), failing(new TaskTimeoutError(1000)))).toMatchObject({
      kind: 'dead',
      reason: 'timeout',
      error: 'TaskTimeoutError: timed out after 1000 ms',
    });
    // A timeout with attempts left is retried like any error.
    expect(await policy.intercept(run(1), failing(new TaskTimeoutError(1000)))).toMatchObject({ kind: 'retry' });
  });

  it('dead-letters permanent errors at once, whatever the attempts left', async () => {
    const cases: [unknown, string][] = [
      [new NonRetryableError('bad data'), 'non_retryable'],
      [new UnknownTaskTypeError('nope', ['echo']), 'unknown_task_type'],
      [new InvalidPayloadError('to must be an email'), 'invalid_payload'],
    ];
    for (const [error, reason] of cases) {
      expect(await policy.intercept(run(1, { maxRetries: 10 }), failing(error))).toMatchObject({
        kind: 'dead',
        reason,
      });
    }
  });

  it('decides nothing for a run the worker gave up (released, lease lost, cancelled)', async () => {
    for (const reason of ['released', 'lease_lost', 'cancelled'] as const) {
      expect(await policy.intercept(run(1, { abandoned: reason }), failing(new Error('aborted')))).toEqual({
        kind: 'abandoned',
        reason,
      });
    }
  });

  it('records the error as one line and its stack as the detail, whatever was thrown', async () => {
    const error = new Error('boom');
    const outcome = (await policy.intercept(run(1), failing(error))) as Extract<RunOutcome, { kind: 'retry' }>;
    expect(outcome.error).toBe('Error: boom');
    expect(outcome.detail).toBe(error.stack);
    expect(await policy.intercept(run(1), failing('a string'))).toMatchObject({
      error: 'non-Error thrown (string): a string',
    });
    expect(await policy.intercept(run(1), failing(undefined))).toMatchObject({
      error: 'non-Error thrown (undefined): undefined',
    });
  });
});
