import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EmailPayload } from '@app/contracts';
import { TaskContext } from '../../run/task-context';
import { TaskHandler } from '../../dispatch/task-handler.decorator';
import { abortableSleep } from './abortable-sleep';

/** The seed's example: pretends to send an e-mail (a short wait), returns a message id. */
@Injectable()
export class EmailHandler {
  @TaskHandler('email')
  async send(payload: EmailPayload, context: TaskContext) {
    await abortableSleep(5, context.signal);
    return { delivered_to: payload.to, subject: payload.subject ?? null, message_id: randomUUID() };
  }
}
