import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { RunContext, RunOutcome } from '../dispatch/task-context';
import { TaskInterceptor } from './task-interceptor.interface';

const OUTCOME_LABEL = { succeeded: 'succeeded', retry: 'retried', dead: 'dead' } as const;

interface RunLabels {
  base: { task_type: string; queue: string };
  succeeded: Record<string, string>;
  retry: Record<string, string>;
  dead: Record<string, string>;
}

/** Outermost: counts outcomes and times runs; wait time is observed on a task's first run. */
@Injectable()
export class MetricsInterceptor implements TaskInterceptor {
  private readonly labels = new Map<string, RunLabels>();

  constructor(
    @InjectMetric(METRIC.processed) private readonly processed: Counter<string>,
    @InjectMetric(METRIC.failed) private readonly failed: Counter<string>,
    @InjectMetric(METRIC.retried) private readonly retried: Counter<string>,
    @InjectMetric(METRIC.runDuration) private readonly runDuration: Histogram<string>,
    @InjectMetric(METRIC.waitDuration) private readonly waitDuration: Histogram<string>,
  ) {}

  async intercept(run: RunContext, next: () => Promise<RunOutcome>): Promise<RunOutcome> {
    const labels = this.labelsOf(run.task.type, run.task.queue);
    if (run.task.attempt === 1)
      this.waitDuration.observe(labels.base, Math.max(0, run.task.claimedAt - run.task.dueAt) / 1000);
    const started = performance.now();
    const outcome = await next();
    this.runDuration.observe(labels[outcome.kind], (performance.now() - started) / 1000);
    const counter =
      outcome.kind === 'succeeded' ? this.processed : outcome.kind === 'retry' ? this.retried : this.failed;
    counter.inc(labels.base);
    return outcome;
  }

  /** Label objects built once per (task type, queue) instead of three per run. */
  private labelsOf(taskType: string, queue: string): RunLabels {
    const key = `${taskType}\n${queue}`;
    let labels = this.labels.get(key);
    if (!labels) {
      const base = { task_type: taskType, queue };
      labels = {
        base,
        succeeded: { ...base, outcome: OUTCOME_LABEL.succeeded },
        retry: { ...base, outcome: OUTCOME_LABEL.retry },
        dead: { ...base, outcome: OUTCOME_LABEL.dead },
      };
      this.labels.set(key, labels);
    }
    return labels;
  }
}
