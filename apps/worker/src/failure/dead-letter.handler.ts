import { Injectable, Logger } from '@nestjs/common';
import { DeadReason } from '@app/queue';
import { RunContext, RunOutcome } from '../run/task-context';

/**
 * Receives every task that is out of attempts or failed for good (non-retryable, unknown type,
 * invalid payload, timeout on its last attempt). It decides nothing: it records why, loudly, and
 * hands the pool the dead outcome, which moves the task to the dead-letter queue atomically.
 * Extend it to notify (a webhook, an alert) when a task dies.
 */
@Injectable()
export class DeadLetterHandler {
  private readonly logger = new Logger('DeadLetter');

  handle(run: RunContext, reason: DeadReason, error: string, detail?: string): RunOutcome {
    const { task } = run;
    this.logger.error({
      msg: `task dead-lettered (${reason}); inspect with GET /dlq?queue=${task.queue}, requeue with POST /dlq/${task.id}/requeue`,
      taskId: task.id,
      taskType: task.type,
      queue: task.queue,
      attempt: task.attempt,
      reason,
      error,
    });
    return { kind: 'dead', reason, error, detail };
  }
}
