import { Inject, Injectable } from '@nestjs/common';
import { NonRetryableError } from '@app/contracts';
import { DeadReason } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { RunContext, RunOutcome } from '../dispatch/task-context';
import { describeError, InvalidPayloadError, TaskTimeoutError, UnknownTaskTypeError } from '../dispatch/run-errors';
import { TaskHandlerExplorer } from '../dispatch/task-handler.explorer';
import { DeadLetterHandler } from '../dlq/dead-letter.handler';
import { BACKOFF_STRATEGY, BackoffStrategy } from '../retry/backoff.strategy';
import { TaskInterceptor } from './task-interceptor.interface';

/**
 * The failure policy, decided once: a failed run is retried (after the backoff, scheduled in Redis,
 * never slept in-process) while attempts remain and the error is retryable; otherwise the task
 * goes to the dead-letter handler with the reason.
 */
@Injectable()
export class RetryInterceptor implements TaskInterceptor {
  constructor(
    @Inject(BACKOFF_STRATEGY) private readonly backoff: BackoffStrategy,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    private readonly handlers: TaskHandlerExplorer,
    private readonly deadLetter: DeadLetterHandler,
  ) {}

  async intercept(run: RunContext, next: () => Promise<RunOutcome>): Promise<RunOutcome> {
    try {
      return await next();
    } catch (error) {
      return this.onFailure(run, error);
    }
  }

  onFailure(run: RunContext, error: unknown): RunOutcome {
    const message = describeError(error);
    const permanent = permanentReason(error);
    if (permanent) return this.deadLetter.handle(run, permanent, message);
    const { task } = run;
    if (task.attempt > task.maxRetries) {
      return this.deadLetter.handle(run, error instanceof TaskTimeoutError ? 'timeout' : 'max_retries', message);
    }
    const handler = this.handlers.get(task.type);
    const backoff = { ...this.options.backoff, ...handler?.contract.defaults?.backoff, ...handler?.options.backoff };
    return { kind: 'retry', delayMs: this.backoff.delayMs(task.attempt, backoff), error: message };
  }
}

function permanentReason(error: unknown): DeadReason | undefined {
  if (error instanceof UnknownTaskTypeError) return 'unknown_task_type';
  if (error instanceof InvalidPayloadError) return 'invalid_payload';
  if (error instanceof NonRetryableError) return 'non_retryable';
  return undefined;
}
