import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Counter } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { TaskHandlerExplorer } from '../dispatch/task-handler.explorer';

/**
 * Publishes every outcome counter at 0 for each task type × queue this worker serves. A labelled
 * counter otherwise appears only at its first increment, and `rate()` misses that first step: an
 * error ratio would read low exactly when a new failure mode starts.
 */
@Injectable()
export class MetricsPrimer implements OnApplicationBootstrap {
  constructor(
    private readonly handlers: TaskHandlerExplorer,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @InjectMetric(METRIC.processed) private readonly processed: Counter<string>,
    @InjectMetric(METRIC.failed) private readonly failed: Counter<string>,
    @InjectMetric(METRIC.retried) private readonly retried: Counter<string>,
  ) {}

  onApplicationBootstrap(): void {
    for (const task_type of this.handlers.types()) {
      for (const { name: queue } of this.options.queues) {
        for (const counter of [this.processed, this.failed, this.retried]) counter.inc({ task_type, queue }, 0);
      }
    }
  }
}
