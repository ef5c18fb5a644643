import { Injectable } from '@nestjs/common';
import { FailPayload } from '@app/contracts';
import { TaskContext, TaskHandler } from '@app/worker';

/** Fails its first `fail_times` attempts (every attempt when absent): retries and the DLQ, visible. */
@Injectable()
export class FailHandler {
  @TaskHandler('fail')
  fail(payload: FailPayload, context: TaskContext) {
    const failTimes = payload.fail_times ?? Infinity;
    if (context.attempt <= failTimes) {
      throw new Error(`planned failure ${context.attempt} of ${payload.fail_times ?? 'always'}`);
    }
    return { succeeded_on_attempt: context.attempt };
  }
}
