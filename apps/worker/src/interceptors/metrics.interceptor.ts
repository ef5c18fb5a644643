import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { RunContext, RunOutcome } from '../dispatch/task-context';
import { TaskInterceptor } from './task-interceptor.interface';

const OUTCOME_LABEL = { succeeded: 'succeeded', retry: 'retried', dead: 'dead' } as const;

/** Outermost: counts outcomes and times runs; wait time is observed on a task's first run. */
@Injectable()
export class MetricsInterceptor implements TaskInterceptor {
  constructor(
    @InjectMetric(METRIC.processed) private readonly processed: Counter<string>,
    @InjectMetric(METRIC.failed) private readonly failed: Counter<string>,
    @InjectMetric(METRIC.retried) private readonly retried: Counter<string>,
    @InjectMetric(METRIC.runDuration) private readonly runDuration: Histogram<string>,
    @InjectMetric(METRIC.waitDuration) private readonly waitDuration: Histogram<string>,
  ) {}

  async intercept(run: RunContext, next: () => Promise<RunOutcome>): Promise<RunOutcome> {
    const labels = { task_type: run.task.type, queue: run.task.queue };
    if (run.task.attempt === 1) this.waitDuration.observe(labels, Math.max(0, run.task.claimedAt - run.task.dueAt) / 1000);
    const started = performance.now();
    const outcome = await next();
    this.runDuration.observe({ ...labels, outcome: OUTCOME_LABEL[outcome.kind] }, (performance.now() - started) / 1000);
    const counter = outcome.kind === 'succeeded' ? this.processed : outcome.kind === 'retry' ? this.retried : this.failed;
    counter.inc(labels);
    return outcome;
  }
}
