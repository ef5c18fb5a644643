import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Counter } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { RemoteWork, ServiceLoop } from '@app/queue';
import { ApiEnv } from '../config/api.env';

/**
 * Every RECOVERY_INTERVAL_MS: puts back the tasks of HTTP workers whose lease expired (the worker died,
 * hung, or lost the network). A native worker recovers only the queues it serves, and a queue only HTTP
 * workers serve has none; a lock in Redis makes one api replica (or worker) per period do each queue.
 */
@Injectable()
export class RemoteWorkRecovery implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RemoteWorkRecovery.name);
  private readonly loop: ServiceLoop;

  constructor(
    private readonly work: RemoteWork,
    @InjectMetric(METRIC.httpWorkerTasks) private readonly runs: Counter<string>,
    @Inject(ConfigService) config: ConfigService<ApiEnv, true>,
  ) {
    const every = config.get('RECOVERY_INTERVAL_MS', { infer: true });
    this.loop = new ServiceLoop('HTTP worker lease recovery', () => this.runOnce(every), this.logger, {
      firstDelayMs: every,
      intervalMs: every,
      backoff: { baseMs: every, maxMs: every },
    });
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.loop.stop();
  }

  async runOnce(lockMs: number): Promise<void> {
    for (const task of await this.work.recoverRemoteQueues(lockMs)) {
      this.runs.inc({ queue: task.queue, outcome: 'recovered' });
      const detail = { taskId: task.id, taskType: task.type, queue: task.queue };
      if (task.outcome === 'dead') {
        this.logger.error({
          msg: 'lease expired too many times (MAX_RECOVERIES); task dead-lettered as lease_expired',
          ...detail,
        });
      } else {
        this.logger.warn({
          msg: 'lease of an HTTP worker expired (it died, hung or lost the network); task put back in its queue',
          ...detail,
        });
      }
    }
  }
}
