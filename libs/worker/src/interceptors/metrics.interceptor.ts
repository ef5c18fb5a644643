import { Injectable } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { RunContext, RunOutcome } from '../run/task-context';
import { TaskInterceptor } from './task-interceptor.interface';

const OUTCOME_LABEL = { succeeded: 'succeeded', retry: 'retried', dead: 'dead' } as const;

interface RunLabels {
  base: { task_type: string; queue: string };
  succeeded: Record<string, string>;
  retry: Record<string, string>;
  dead: Record<string, string>;
}

/**
 * Outermost: times runs by outcome, and the wait from due to first start. The outcome counters are
 * the outcome writer's, moved only when a transition was applied (an abandoned run is no outcome).
 */
@Injectable()
export class MetricsInterceptor implements TaskInterceptor {
  private readonly labels = new Map<string, RunLabels>();

  constructor(
    @InjectMetric(METRIC.runDuration) private readonly runDuration: Histogram<string>,
    @InjectMetric(METRIC.waitDuration) private readonly waitDuration: Histogram<string>,
  ) {}

  async intercept(run: RunContext, next: () => Promise<RunOutcome>): Promise<RunOutcome> {
    const labels = this.labelsOf(run.task.type, run.task.queue);
    if (run.task.attempt === 1)
      this.waitDuration.observe(labels.base, Math.max(0, run.task.claimedAt - run.task.dueAt) / 1000);
    const started = performance.now();
    const outcome = await next();
    if (outcome.kind !== 'abandoned' && !run.abandoned) {
      this.runDuration.observe(labels[outcome.kind], (performance.now() - started) / 1000);
    }
    return outcome;
  }

  /** Label objects built once per (task type, queue) instead of per run. */
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
