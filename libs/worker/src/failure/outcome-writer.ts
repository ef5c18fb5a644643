import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Counter } from 'prom-client';
import { logsDebug } from '@app/config';
import { InjectMetric, METRIC } from '@app/metrics';
import { AppliedOutcome, encodeResult, QueueConsumer, QueueError, QueueErrorCode } from '@app/queue';
import { ActiveRun } from '../run/active-run';
import { RunOutcome } from '../run/task-context';
import { WorkerEnv } from '../config/worker.env';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An outcome the writer applies (an abandoned run has none). */
type AppliedRunOutcome = Exclude<RunOutcome, { kind: 'abandoned' }>;

/**
 * The one place a run's outcome becomes a queue transition (ack with result, retry, dead, or the
 * hand-back at shutdown), so a result store can be added behind it without touching the pool or the
 * policy. The outcome counters move only when a transition was applied: a run whose lease was lost
 * or that was released is not a success or a failure of the task.
 */
@Injectable()
export class OutcomeWriter {
  private readonly logger = new Logger(OutcomeWriter.name);
  /**
   * The one per-task line of a success is at debug: below that level it is not even built (the logger
   * formats before pino drops it, 3% of the worker's CPU per task).
   */
  private readonly logsSuccesses: boolean;
  private readonly maxResultBytes: number;

  constructor(
    private readonly consumer: QueueConsumer,
    @InjectMetric(METRIC.processed) private readonly processed: Counter<string>,
    @InjectMetric(METRIC.failed) private readonly failed: Counter<string>,
    @InjectMetric(METRIC.retried) private readonly retried: Counter<string>,
    @InjectMetric(METRIC.released) private readonly released: Counter<string>,
    config: ConfigService<WorkerEnv, true>,
  ) {
    this.logsSuccesses = logsDebug(config.get('LOG_LEVEL', { infer: true }));
    this.maxResultBytes = config.get('MAX_RESULT_BYTES', { infer: true });
  }

  /**
   * Writes the outcome; while Redis is unreachable it keeps trying for as long as our lease holds
   * (after that the recoverer gives the task to someone else, and our write would be refused). A write
   * whose reply never came may have been applied: before writing again, Redis is asked what became of
   * the run, so an applied ack is counted and logged as the success it was, not as a lost lease.
   */
  async write(run: ActiveRun, outcome: RunOutcome): Promise<void> {
    const { task } = run;
    const detail = { taskId: task.id, taskType: task.type, queue: task.queue, attempt: task.attempt };
    let resultJson = '';
    if (outcome.kind === 'succeeded') {
      const encoded = encodeResult(outcome.result, this.maxResultBytes);
      if ('dead' in encoded) {
        outcome = { kind: 'dead', ...encoded.dead };
        this.logger.error({ msg: `task dead-lettered (${outcome.reason}): ${outcome.error}`, ...detail });
      } else {
        resultJson = encoded.json;
      }
    }
    let uncertain = false;
    for (let tries = 1; ; tries++) {
      if (outcome.kind === 'abandoned' || run.abandoned) return;
      try {
        if (uncertain) {
          const applied = await this.consumer.appliedOutcome(task);
          if (applied !== 'none') return this.settleUncertain(run, outcome, applied, detail);
          uncertain = false;
        }
        if (outcome.kind === 'succeeded') {
          await this.consumer.ack(task, resultJson);
        } else if (outcome.kind === 'retry') {
          await this.consumer.fail(task, {
            action: 'retry',
            delayMs: outcome.delayMs,
            error: outcome.error,
            detail: outcome.detail,
          });
        } else {
          await this.consumer.fail(task, {
            action: 'dead',
            reason: outcome.reason,
            error: outcome.error,
            detail: outcome.detail,
          });
        }
        this.applied(run, outcome, detail);
        return;
      } catch (error) {
        if (error instanceof QueueError && error.code === QueueErrorCode.LeaseLost) {
          this.logger.warn({ msg: 'outcome discarded: lease lost (the task was recovered and runs again)', ...detail });
          return;
        }
        if (error instanceof QueueError && error.maybeApplied) uncertain = true;
        if (Date.now() > run.leaseUntil) {
          this.logger.warn({
            msg: uncertain
              ? `outcome perhaps not written (${(error as Error).message}; its reply never came): if it was not, the lease expires and the task runs again`
              : `outcome not written (${(error as Error).message}); the lease expires and the task runs again`,
            ...detail,
          });
          return;
        }
        await sleep(Math.min(50 * tries, 500));
      }
    }
  }

  /** Counts (and logs) an outcome Redis applied. */
  private applied(run: ActiveRun, outcome: AppliedRunOutcome, detail: Record<string, unknown>): void {
    const labels = { task_type: run.task.type, queue: run.task.queue };
    if (outcome.kind === 'succeeded') {
      this.processed.inc(labels);
      if (this.logsSuccesses) this.logger.debug({ msg: 'task succeeded', ...detail });
    } else if (outcome.kind === 'retry') {
      this.retried.inc(labels);
      this.logger.warn({ msg: `task failed; retry in ${outcome.delayMs} ms`, error: outcome.error, ...detail });
    } else {
      this.failed.inc(labels);
    }
  }

  /** A write whose reply never came, resolved by what Redis holds (see QueueConsumer.appliedOutcome). */
  private settleUncertain(
    run: ActiveRun,
    outcome: AppliedRunOutcome,
    applied: Exclude<AppliedOutcome, 'none'>,
    detail: Record<string, unknown>,
  ): void {
    const wanted = { succeeded: 'succeeded', retry: 'retried', dead: 'dead' }[outcome.kind];
    if (applied === wanted) {
      this.logger.log({ msg: `the reply to the ${applied} write was lost, but Redis shows it applied`, ...detail });
      this.applied(run, outcome, detail);
    } else if (applied === 'unknown') {
      this.logger.warn({
        msg: "outcome's reply was lost and the task is no longer in Redis (finished and dropped, or archived): not counted here",
        ...detail,
      });
    } else {
      this.logger.warn({ msg: 'outcome discarded: lease lost (the task was recovered and runs again)', ...detail });
    }
  }

  /** Shutdown: hands the run's task back to its queue (attempt not burned). */
  async release(run: ActiveRun): Promise<void> {
    const { task } = run;
    const detail = { taskId: task.id, taskType: task.type, queue: task.queue };
    try {
      await this.consumer.release(task);
      this.released.inc({ queue: task.queue });
      this.logger.warn({ msg: 'grace period over; task released back to its queue', ...detail });
    } catch (error) {
      this.logger.warn({
        msg: `could not release (${(error as Error).message}); the lease expires and the task runs again`,
        ...detail,
      });
    }
  }
}
