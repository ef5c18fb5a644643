import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { QueueConsumer } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { ServiceLoop } from '@app/queue';

/**
 * Every RECOVERY_INTERVAL_MS, per queue this worker serves: puts back tasks whose lease expired
 * (their worker died or stalled; a lock in Redis held for one period makes one worker do it per
 * period), sweeps expired entries from the succeeded index, and promotes due scheduled/retrying
 * tasks (claims do too, but claims stop while a pool is full). It also keeps the served queues in
 * the registry (in case Redis was down at boot, or an operator forgot an empty one).
 */
@Injectable()
export class LeaseRecoverer {
  private readonly logger = new Logger(LeaseRecoverer.name);
  private readonly loop: ServiceLoop;

  constructor(
    private readonly consumer: QueueConsumer,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @InjectMetric(METRIC.recovered) private readonly recovered: Counter<string>,
  ) {
    const every = options.recoveryIntervalMs;
    this.loop = new ServiceLoop('lease recoverer', () => this.runOnce(), this.logger, {
      firstDelayMs: every,
      intervalMs: every,
      backoff: { baseMs: every, maxMs: every },
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  async runOnce(): Promise<void> {
    await this.consumer.register(this.options.queues.map((q) => q.name));
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
