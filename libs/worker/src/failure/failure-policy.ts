import { Inject, Injectable } from '@nestjs/common';
import { NonRetryableError, TaskContractRegistry } from '@app/contracts';
import { DeadReason, decideFailure } from '@app/queue';
import { TaskInterceptor } from '../interceptors/task-interceptor.interface';
import {
  describeError,
  errorDetail,
  InvalidPayloadError,
  TaskTimeoutError,
  UnknownTaskTypeError,
} from '../run/run-errors';
import { RunContext, RunOutcome } from '../run/task-context';
import { BACKOFF_STRATEGY, BackoffStrategy } from './backoff.strategy';
import { DeadLetterLog } from './dead-letter-log';

/**
 * The failure policy, decided once, as the interceptor around every run (this folder reads top to
 * bottom: this decides, the dead-letter log records, the outcome writer applies):
 * - a run the worker gave up (released at shutdown, lease lost) has no outcome: nothing to decide;
 * - a permanent error (NonRetryableError, unknown type, invalid payload) is dead at once;
 * - otherwise the run is retried after the task's own backoff, else its type's (scheduled in Redis, never slept
 *   in-process) while attempts remain, then dead (`timeout` or `max_retries`): decideFailure, the rule the
 *   api's HTTP workers share.
 */
@Injectable()
export class FailurePolicy implements TaskInterceptor {
  constructor(
    @Inject(BACKOFF_STRATEGY) private readonly backoff: BackoffStrategy,
    private readonly contracts: TaskContractRegistry,
    private readonly deadLetter: DeadLetterLog,
  ) {}

  async intercept(run: RunContext, next: () => Promise<RunOutcome>): Promise<RunOutcome> {
    try {
      return await next();
    } catch (error) {
      return this.onFailure(run, error);
    }
  }

  onFailure(run: RunContext, error: unknown): RunOutcome {
    if (run.abandoned) return { kind: 'abandoned', reason: run.abandoned };
    const message = describeError(error);
    const detail = errorDetail(error);
    const { task } = run;
    const decision = decideFailure(
      task,
      { permanent: permanentReason(error), timedOut: error instanceof TaskTimeoutError },
      (attempt) => this.backoff.delayMs(attempt, this.contracts.settingsFor(task.type).backoff),
    );
    if (decision.action === 'dead') return this.deadLetter.record(run, decision.reason, message, detail);
    return { kind: 'retry', delayMs: decision.delayMs, error: message, detail };
  }
}

function permanentReason(error: unknown): DeadReason | undefined {
  if (error instanceof UnknownTaskTypeError) return 'unknown_task_type';
  if (error instanceof InvalidPayloadError) return 'invalid_payload';
  if (error instanceof NonRetryableError) return 'non_retryable';
  return undefined;
}
