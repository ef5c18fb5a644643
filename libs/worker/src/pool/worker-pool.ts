import { Inject, Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { ClaimedTask, QueueConsumer } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { TaskDispatcher } from '../dispatch/task-dispatcher';
import { OutcomeWriter } from '../failure/outcome-writer';
import { ActiveRun } from '../run/active-run';
import { ShutdownError } from '../run/run-errors';
import { RunOutcome } from '../run/task-context';
import { ServiceLoop } from '@app/queue';
import { ResultsBackpressure } from '../results/results-backpressure';
import { RunRegistry } from './run-registry';
import { weightedOrder } from './weighted-order';

/**
 * The concurrency pool: claims up to its free slots in one script call per queue, runs each task
 * through the dispatcher and hands the outcome to the outcome writer. Idle, it blocks on Redis
 * (never polls hot). `stop()`: stop claiming (cutting an idle wait short) → drain in-flight runs for
 * SHUTDOWN_GRACE_MS → release what is left back to its queue.
 */
@Injectable()
export class WorkerPool {
  private readonly logger = new Logger(WorkerPool.name);
  /**
   * Runs whose handler has not settled yet: what the pool size bounds. A run whose outcome is being
   * written stays in the registry (heartbeat, shutdown) but no longer holds a slot, so the next
   * claim goes out in the same round trip as the acks instead of after them.
   */
  private handling = 0;
  private inFlightPending = false;
  private slotFreed?: () => void;
  private readonly queueNames: string[];
  private readonly loop = new ServiceLoop('worker pool', () => this.claimRound(), this.logger, {
    failureMessage: (error) => `cannot claim tasks: ${error.message}; retrying until Redis is back`,
  });

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly dispatcher: TaskDispatcher,
    private readonly writer: OutcomeWriter,
    private readonly runs: RunRegistry,
    private readonly backpressure: ResultsBackpressure,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @InjectMetric(METRIC.inFlight) private readonly inFlight: Gauge<string>,
    @InjectMetric(METRIC.concurrency) concurrency: Gauge<string>,
  ) {
    concurrency.set(options.concurrency);
    this.queueNames = options.queues.map((q) => q.name);
  }

  start(): void {
    this.loop.start();
    const queues = this.options.queues.map((q) => `${q.name}:${q.weight}`).join(',');
    this.logger.log({ msg: `worker pool started: concurrency ${this.options.concurrency}, queues ${queues}` });
  }

  async stop(): Promise<void> {
    this.logger.log({
      msg: `pool stopping: ${this.runs.size} task(s) in flight, grace ${this.options.shutdownGraceMs} ms`,
    });
    // stop() marks the loop stopping at once; then what a round may be waiting on is cut short.
    const stopped = this.loop.stop();
    this.consumer.interruptWaits();
    this.backpressure.release();
    this.slotFreed?.();
    await stopped;
    await this.drain(this.options.shutdownGraceMs);
    await this.releaseRemaining();
    this.logger.log({ msg: 'worker pool stopped' });
  }

  /**
   * One round: wait for a free slot, or claim up to the free slots over the queues in weighted order and,
   * when nothing was there, block on Redis until work arrives (or the next delayed task is due).
   */
  private async claimRound(): Promise<void> {
    const free = this.options.concurrency - this.handling;
    if (free <= 0) {
      await new Promise<void>((resolve) => (this.slotFreed = resolve));
      return;
    }
    // RESULTS_BUFFER_MAX: no new claims from a queue whose finished tasks wait for PostgreSQL en masse.
    const order = weightedOrder(this.options.queues).filter((queue) => !this.backpressure.blocked(queue));
    if (!order.length) {
      await this.backpressure.waitForOpen(this.options.idleWaitMs);
      return;
    }
    let claimed = 0;
    let nextDueAt: number | null = null;
    let now = 0;
    for (const queue of order) {
      const result = await this.consumer.claim(queue, free - claimed);
      if (result.backlogged) this.backpressure.markBacklogged(queue);
      now = result.now;
      result.tasks.forEach((task) => this.begin(task));
      claimed += result.tasks.length;
      if (result.nextDueAt !== null && (nextDueAt === null || result.nextDueAt < nextDueAt))
        nextDueAt = result.nextDueAt;
      if (claimed >= free || this.loop.stopping) break;
    }
    if (claimed === 0 && !this.loop.stopping) {
      const untilDue = nextDueAt === null ? Infinity : nextDueAt - now;
      await this.consumer.waitForWork(this.queueNames, Math.max(10, Math.min(this.options.idleWaitMs, untilDue)));
    }
  }

  private begin(task: ClaimedTask): void {
    const run = new ActiveRun(task, this.consumer.leaseMs);
    this.runs.add(run);
    this.handling++;
    this.updateInFlight();
    run.done = this.execute(run).finally(() => {
      this.runs.remove(run);
      this.updateInFlight();
    });
  }

  /** The in-flight gauge, set once per tick rather than twice per task. */
  private updateInFlight(): void {
    if (this.inFlightPending) return;
    this.inFlightPending = true;
    setImmediate(() => {
      this.inFlightPending = false;
      this.inFlight.set(this.runs.size);
    });
  }

  private async execute(run: ActiveRun): Promise<void> {
    let outcome: RunOutcome;
    try {
      outcome = await this.dispatcher.dispatch(run);
    } finally {
      this.handling--;
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    }
    await this.writer.write(run, outcome);
  }

  private async drain(graceMs: number): Promise<void> {
    if (!this.runs.size) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.runs.values()].map((run) => run.done)),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
  }

  /** Hands every still-running task back to its queue (attempt not burned) and aborts its handler. */
  private async releaseRemaining(): Promise<void> {
    const remaining = [...this.runs.values()].filter((run) => !run.abandoned);
    await Promise.all(
      remaining.map((run) => {
        run.abandon('released', new ShutdownError());
        return this.writer.release(run);
      }),
    );
  }
}
