import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EmailPayload } from '@app/contracts';
import { abortableSleep } from './abortable-sleep';
import { TaskContext, TaskHandler } from '@app/worker';

/** The seed's example: pretends to send an e-mail (a short wait), returns a message id. */
@Injectable()
export class EmailHandler {
  @TaskHandler('email')
  async send(payload: EmailPayload, context: TaskContext) {
    await abortableSleep(5, context.signal);
    return { delivered_to: payload.to, subject: payload.subject ?? null, message_id: randomUUID() };
  }
}
