import { Injectable, Logger } from '@nestjs/common';
import { QueueEvents } from '@app/queue';
import { CancelledError } from '../run/run-errors';
import { RunRegistry } from './run-registry';

/**
 * Aborts a run the moment its task is cancelled: the cancel script publishes `<id> <lease token>`,
 * and the worker holding that lease fires the run's AbortSignal. The lease is gone already, so a
 * handler that ignores the signal still writes nothing; if the message is missed (a reconnect),
 * the next heartbeat finds the lease gone and aborts the run all the same.
 */
@Injectable()
export class CancelListener {
  private readonly logger = new Logger(CancelListener.name);
  private unsubscribe?: () => void;

  constructor(
    private readonly events: QueueEvents,
    private readonly runs: RunRegistry,
  ) {}

  async start(): Promise<void> {
    try {
      this.unsubscribe = await this.events.subscribe(this.events.channels.cancel, (message) => this.onCancel(message));
    } catch (error) {
      this.logger.warn({
        msg: `cannot listen for cancellations yet (${(error as Error).message}); heartbeats still stop cancelled runs`,
      });
    }
  }

  stop(): Promise<void> {
    this.unsubscribe?.();
    return Promise.resolve();
  }

  private onCancel(message: string): void {
    const [taskId, token] = message.split(' ');
    const run = token ? this.runs.byToken(token) : undefined;
    if (!run) return;
    run.abandon('cancelled', new CancelledError());
    this.logger.log({
      msg: 'task cancelled while running; run aborted',
      taskId,
      taskType: run.task.type,
      queue: run.task.queue,
    });
  }
}
