import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { ClaimedTask, QueueConsumer, QueueError, QueueErrorCode } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { RunOutcome } from '../dispatch/task-context';
import { LeaseLostError, ShutdownError } from '../dispatch/run-errors';
import { TaskDispatcher } from '../dispatch/task-dispatcher';
import { LeaseRecoverer } from '../recovery/lease-recoverer';
import { ActiveRun } from './active-run';
import { BackgroundTask } from './background-task';
import { weightedOrder } from './weighted-order';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The concurrency pool: claims up to its free slots in one script call, runs each task through the
 * dispatcher, and applies the outcome to Redis. Owns the heartbeat and the lease recoverer, and
 * stops them in order at shutdown: stop claiming → drain (SHUTDOWN_GRACE_MS) → release the rest →
 * stop heartbeat and recoverer → (QueueModule closes Redis).
 */
@Injectable()
export class WorkerPool implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerPool.name);
  private readonly runs = new Map<string, ActiveRun>();
  /**
   * Runs whose handler has not settled yet: what the pool size bounds. A run whose outcome is being
   * written to Redis stays in `runs` (heartbeat, shutdown) but no longer holds a slot, so the next
   * claim goes out in the same round trip as the acks instead of after them.
   */
  private handling = 0;
  private inFlightPending = false;
  private readonly heartbeat: BackgroundTask;
  private stopping = false;
  private loopDone?: Promise<void>;
  private slotFreed?: () => void;

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly dispatcher: TaskDispatcher,
    private readonly recoverer: LeaseRecoverer,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @InjectMetric(METRIC.inFlight) private readonly inFlight: Gauge<string>,
    @InjectMetric(METRIC.concurrency) concurrency: Gauge<string>,
    @InjectMetric(METRIC.released) private readonly released: Counter<string>,
  ) {
    concurrency.set(options.concurrency);
    this.heartbeat = new BackgroundTask(
      'heartbeat',
      options.heartbeatIntervalMs,
      () => this.extendLeases(),
      this.logger,
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.register(this.options.queues.map((q) => q.name)).catch((error: Error) => {
      this.logger.warn({ msg: `could not register queues yet: ${error.message}` });
    });
    this.heartbeat.start();
    this.recoverer.start();
    this.loopDone = this.loop();
    const queues = this.options.queues.map((q) => `${q.name}:${q.weight}`).join(',');
    this.logger.log({ msg: `worker pool started: concurrency ${this.options.concurrency}, queues ${queues}` });
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.log({
      msg: `shutting down (${signal ?? 'close'}): ${this.runs.size} task(s) in flight, grace ${this.options.shutdownGraceMs} ms`,
    });
    this.stopping = true;
    this.slotFreed?.();
    await this.loopDone;
    await this.drain(this.options.shutdownGraceMs);
    await this.releaseRemaining();
    await Promise.all([this.heartbeat.stop(), this.recoverer.stop()]);
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
      try {
        let claimed = 0;
        let nextDueAt: number | null = null;
        let now = 0;
        for (const queue of weightedOrder(this.options.queues)) {
          const result = await this.consumer.claim(queue, free - claimed);
          now = result.now;
          result.tasks.forEach((task) => this.start(task));
          claimed += result.tasks.length;
          if (result.nextDueAt !== null && (nextDueAt === null || result.nextDueAt < nextDueAt))
            nextDueAt = result.nextDueAt;
          if (claimed >= free) break;
        }
        if (claimed === 0 && !this.stopping) {
          const untilDue = nextDueAt === null ? Infinity : nextDueAt - now;
          await this.consumer.waitForWork(queueNames, Math.max(10, Math.min(this.options.idleWaitMs, untilDue)));
        }
        failures = 0;
      } catch (error) {
        failures++;
        if (failures === 1) {
          this.logger.warn({ msg: `cannot claim tasks: ${(error as Error).message}; retrying until Redis is back` });
        }
        await sleep(Math.min(100 * 2 ** Math.min(failures, 4), 1000));
      }
    }
  }

  private start(task: ClaimedTask): void {
    const controller = new AbortController();
    const run: ActiveRun = {
      task,
      controller,
      leaseUntil: Date.now() + this.consumer.leaseMs,
      done: Promise.resolve(),
    };
    this.runs.set(task.id, run);
    this.handling++;
    this.updateInFlight();
    run.done = this.execute(run).finally(() => {
      this.runs.delete(task.id);
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
      outcome = await this.dispatcher.dispatch(run.task, run.controller);
    } finally {
      this.handling--;
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    }
    if (run.abandoned) return;
    await this.apply(run, outcome);
  }

  /**
   * Writes the outcome; while Redis is unreachable it keeps trying for as long as our lease holds
   * (after that the recoverer gives the task to someone else, and our write would be refused).
   */
  private async apply(run: ActiveRun, outcome: RunOutcome): Promise<void> {
    const { task } = run;
    const detail = { taskId: task.id, taskType: task.type, queue: task.queue, attempt: task.attempt };
    for (let tries = 1; ; tries++) {
      try {
        if (outcome.kind === 'succeeded') {
          await this.consumer.ack(task, JSON.stringify(outcome.result ?? null));
          this.logger.debug({ msg: 'task succeeded', ...detail });
        } else if (outcome.kind === 'retry') {
          await this.consumer.fail(task, { action: 'retry', delayMs: outcome.delayMs, error: outcome.error });
          this.logger.warn({ msg: `task failed; retry in ${outcome.delayMs} ms`, error: outcome.error, ...detail });
        } else {
          await this.consumer.fail(task, { action: 'dead', reason: outcome.reason, error: outcome.error });
        }
        return;
      } catch (error) {
        if (error instanceof QueueError && error.code === QueueErrorCode.LeaseLost) {
          this.logger.warn({ msg: 'outcome discarded: lease lost (the task was recovered and runs again)', ...detail });
          return;
        }
        if (outcome.kind === 'succeeded' && error instanceof TypeError) {
          // JSON.stringify refused the result (BigInt, cycles): a bug in the handler, not transient.
          outcome = {
            kind: 'dead',
            reason: 'non_retryable',
            error: `result is not JSON-serializable: ${error.message}`,
          };
          continue;
        }
        if (Date.now() > run.leaseUntil || run.abandoned) {
          this.logger.warn({
            msg: `outcome not written (${(error as Error).message}); the lease expires and the task runs again`,
            ...detail,
          });
          return;
        }
        await sleep(Math.min(50 * tries, 500));
      }
    }
  }

  /** One pipelined-per-queue call extends every lease this worker holds. */
  private async extendLeases(): Promise<void> {
    const byQueue = new Map<string, ActiveRun[]>();
    for (const run of this.runs.values()) {
      if (run.abandoned) continue;
      const group = byQueue.get(run.task.queue);
      if (group) group.push(run);
      else byQueue.set(run.task.queue, [run]);
    }
    await Promise.all(
      [...byQueue].map(async ([queue, runs]) => {
        const sentAt = Date.now();
        const lost = new Set(
          await this.consumer.heartbeat(
            queue,
            runs.map((run) => run.task),
          ),
        );
        for (const run of runs) {
          if (!lost.has(run.task.id)) {
            run.leaseUntil = sentAt + this.consumer.leaseMs;
            continue;
          }
          run.abandoned = 'lease_lost';
          run.controller.abort(new LeaseLostError());
          this.logger.warn({
            msg: 'lease lost (stalled past TASK_LEASE_MS?); run aborted',
            taskId: run.task.id,
            taskType: run.task.type,
            queue,
          });
        }
      }),
    );
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
      remaining.map(async (run) => {
        run.abandoned = 'released';
        run.controller.abort(new ShutdownError());
        const detail = { taskId: run.task.id, taskType: run.task.type, queue: run.task.queue };
        try {
          await this.consumer.release(run.task);
          this.released.inc({ queue: run.task.queue });
          this.logger.warn({ msg: 'grace period over; task released back to its queue', ...detail });
        } catch (error) {
          this.logger.warn({
            msg: `could not release (${(error as Error).message}); the lease expires and the task runs again`,
            ...detail,
          });
        }
      }),
    );
  }
}
