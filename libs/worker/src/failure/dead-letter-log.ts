import { Injectable, Logger } from '@nestjs/common';
import { DeadReason } from '@app/queue';
import { RunContext, RunOutcome } from '../run/task-context';

/**
 * Records every task that is out of attempts or failed for good (non-retryable, unknown type,
 * invalid payload, timeout on its last attempt). It decides nothing: it logs why, loudly, and
 * returns the dead outcome, which the outcome writer applies (the task moves to the dead-letter queue
 * atomically). Extend it to notify (a webhook, an alert) when a task dies.
 */
@Injectable()
export class DeadLetterLog {
  private readonly logger = new Logger('DeadLetter');

  record(run: RunContext, reason: DeadReason, error: string, detail?: string): RunOutcome {
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
