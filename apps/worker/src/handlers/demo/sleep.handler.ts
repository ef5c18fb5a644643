import { Injectable } from '@nestjs/common';
import { SleepPayload } from '@app/contracts';
import { TaskContext } from '../../run/task-context';
import { TaskHandler } from '../../dispatch/task-handler.decorator';
import { abortableSleep } from './abortable-sleep';

/** Waits `ms` (aborted by the timeout or shutdown), then succeeds. */
@Injectable()
export class SleepHandler {
  @TaskHandler('sleep')
  async sleep(payload: SleepPayload, context: TaskContext) {
    await abortableSleep(payload.ms, context.signal);
    return { slept_ms: payload.ms };
  }
}
