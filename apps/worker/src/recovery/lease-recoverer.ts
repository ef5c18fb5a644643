import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { QueueConsumer } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { BackgroundTask } from '../pool/background-task';

/**
 * Puts back tasks whose lease expired (their worker died or stalled). Every worker runs it; a lock
 * in Redis (held for one period) makes one of them do the work per period. It also promotes due
 * scheduled/retrying tasks, which claims do too, but claims stop while a pool is full.
 */
@Injectable()
export class LeaseRecoverer {
  private readonly logger = new Logger(LeaseRecoverer.name);
  private readonly task: BackgroundTask;

  constructor(
    private readonly consumer: QueueConsumer,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @InjectMetric(METRIC.recovered) private readonly recovered: Counter<string>,
  ) {
    this.task = new BackgroundTask('lease recoverer', options.recoveryIntervalMs, () => this.runOnce(), this.logger);
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  async runOnce(): Promise<void> {
    for (const { name } of this.options.queues) {
      const found = await this.consumer.recoverExpired(name, this.options.recoveryIntervalMs);
      for (const task of found) {
        this.recovered.inc({ task_type: task.type, queue: task.queue });
        const detail = { taskId: task.id, taskType: task.type, queue: task.queue };
        if (task.outcome === 'dead') {
          this.logger.error({
            msg: 'lease expired too many times (MAX_RECOVERIES); task dead-lettered as lease_expired',
            ...detail,
          });
        } else {
          this.logger.warn({ msg: 'lease expired (worker died or stalled); task put back in its queue', ...detail });
        }
      }
      await this.consumer.claim(name, 0);
    }
  }
}
