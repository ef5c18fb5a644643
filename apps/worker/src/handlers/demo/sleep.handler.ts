import { Injectable } from '@nestjs/common';
import { SleepPayload } from '@app/contracts';
import { abortableSleep } from './abortable-sleep';
import { TaskContext, TaskHandler } from '@app/worker';

/** Waits `ms` (aborted by the timeout or shutdown), then succeeds. */
@Injectable()
export class SleepHandler {
  @TaskHandler('sleep')
  async sleep(payload: SleepPayload, context: TaskContext) {
    await abortableSleep(payload.ms, context.signal);
    return { slept_ms: payload.ms };
  }
}
