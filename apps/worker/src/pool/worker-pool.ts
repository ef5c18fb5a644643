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
import { ResultsBackpressure } from '../results/results-backpressure';
import { RunRegistry } from './run-registry';
import { weightedOrder } from './weighted-order';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  private stopping = false;
  private loopDone?: Promise<void>;
  private slotFreed?: () => void;

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
  }

  start(): void {
    this.loopDone = this.loop();
    const queues = this.options.queues.map((q) => `${q.name}:${q.weight}`).join(',');
    this.logger.log({ msg: `worker pool started: concurrency ${this.options.concurrency}, queues ${queues}` });
  }

  async stop(): Promise<void> {
    this.logger.log({
      msg: `pool stopping: ${this.runs.size} task(s) in flight, grace ${this.options.shutdownGraceMs} ms`,
    });
    this.stopping = true;
    this.consumer.interruptWaits();
    this.backpressure.release();
    this.slotFreed?.();
    await this.loopDone;
    await this.drain(this.options.shutdownGraceMs);
    await this.releaseRemaining();
    this.logger.log({ msg: 'worker pool stopped' });
  }

  private async loop(): Promise<void> {
    const queueNames = this.options.queues.map((q) => q.name);
    let failures = 0;
    while (!this.stopping) {
      const free = this.options.concurrency - this.handling;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      // RESULTS_BUFFER_MAX: no new claims from a queue whose finished tasks wait for PostgreSQL en masse.
      const order = weightedOrder(this.options.queues).filter((queue) => !this.backpressure.blocked(queue));
      if (!order.length) {
        await this.backpressure.waitForOpen(this.options.idleWaitMs);
        continue;
      }
      try {
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
          if (claimed >= free || this.stopping) break;
        }
        if (claimed === 0 && !this.stopping) {
          const untilDue = nextDueAt === null ? Infinity : nextDueAt - now;
          await this.consumer.waitForWork(queueNames, Math.max(10, Math.min(this.options.idleWaitMs, untilDue)));
        }
        failures = 0;
      } catch (error) {
        if (this.stopping) break;
        failures++;
        if (failures === 1) {
          this.logger.warn({ msg: `cannot claim tasks: ${(error as Error).message}; retrying until Redis is back` });
        }
        await sleep(Math.min(100 * 2 ** Math.min(failures, 4), 1000));
      }
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
