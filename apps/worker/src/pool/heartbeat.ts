import { Inject, Injectable, Logger } from '@nestjs/common';
import { QueueConsumer } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { LeaseLostError } from '../run/run-errors';
import { BackgroundTask } from './background-task';
import { RunRegistry } from './run-registry';

/**
 * Renews the leases of every run this worker holds, one script call per queue every third of
 * TASK_LEASE_MS. A lease that is no longer ours (we stalled past it and the task was recovered)
 * aborts its run: the outcome would be refused anyway, and the task runs again elsewhere.
 */
@Injectable()
export class Heartbeat {
  private readonly logger = new Logger(Heartbeat.name);
  private readonly task: BackgroundTask;

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly runs: RunRegistry,
    @Inject(WORKER_OPTIONS) options: WorkerOptions,
  ) {
    this.task = new BackgroundTask('heartbeat', options.heartbeatIntervalMs, () => this.beat(), this.logger);
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  async beat(): Promise<void> {
    await Promise.all(
      [...this.runs.liveByQueue()].map(async ([queue, runs]) => {
        const sentAt = Date.now();
        const lost = new Set(
          await this.consumer.heartbeat(
            queue,
            runs.map((run) => run.task),
          ),
        );
        for (const run of runs) {
          if (!lost.has(run.token)) {
            run.leaseUntil = sentAt + this.consumer.leaseMs;
            continue;
          }
          run.abandon('lease_lost', new LeaseLostError());
          this.logger.warn({
            msg: 'lease lost (stalled past TASK_LEASE_MS?); run aborted, the task runs again elsewhere',
            taskId: run.task.id,
            taskType: run.task.type,
            queue,
          });
        }
      }),
    );
  }
}
