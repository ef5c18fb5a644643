import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { ArchivedTask, isFinishedStatus, QueueArchive } from '@app/queue';
import { ResultStore, ResultStoreError } from '@app/results';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { ServiceLoop } from '@app/queue';
import { ResultsBackpressure } from './results-backpressure';

/**
 * No COMMIT this close to the end of the batch's lease (RESULTS_LEASE_MS): a later claimer may be
 * writing the same tasks by then. A quarter of the lease, at most 5 s.
 */
const commitMarginMs = (leaseMs: number) => Math.min(5000, Math.floor(leaseMs / 4));
/** A batch's hashes stop at about this many bytes (large payloads make small batches). */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Longest pause between tries while PostgreSQL (or Redis) fails. */
const MAX_BACKOFF_MS = 5000;
/** At shutdown, the last pass may take this long; whatever is left waits in Redis for another worker. */
const FINAL_PASS_MS = 5000;
const FAILURE_LOG_EVERY_MS = 30_000;
const ROUNDS_PER_PASS = 20;
/**
 * Batches of one queue in flight at once per archiver: the archiver mostly waits on Redis and
 * PostgreSQL round trips, and a few overlapping batches roughly halve the time to drain a backlog.
 */
const PARALLEL_BATCHES = 3;

/**
 * The write-behind of finished tasks to PostgreSQL (RESULTS_BACKEND=postgres), one per worker; any
 * number run at once. Each pass takes every registered queue's due archive entries in batches:
 * claim (leased, so archivers never share a batch), write in one transaction (an idempotent upsert),
 * then settle (the hashes leave Redis only now, and only those unchanged since the claim). A crash at
 * any point leaves each task in Redis, in PostgreSQL, or in both; a batch written twice changes nothing.
 * While PostgreSQL is away the tasks wait in Redis (results_pending) and the archiver backs off; the
 * pool stops claiming from a queue whose backlog reaches RESULTS_BUFFER_MAX (ResultsBackpressure).
 */
@Injectable()
export class ResultArchiver {
  private readonly logger = new Logger(ResultArchiver.name);
  private readonly loop = new ServiceLoop('result archiver', () => this.pass(), this.logger, {
    onFailure: (error) => this.failed(error),
  });
  private started = false;
  private failures = 0;
  private failingSince = 0;
  private lastFailureLog = 0;

  constructor(
    private readonly archive: QueueArchive,
    private readonly store: ResultStore,
    private readonly backpressure: ResultsBackpressure,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @InjectMetric(METRIC.resultsPending) private readonly pendingGauge: Gauge<string>,
    @InjectMetric(METRIC.resultsPendingLimit) private readonly limitGauge: Gauge<string>,
    @InjectMetric(METRIC.resultsClaimsPaused) private readonly pausedGauge: Gauge<string>,
    @InjectMetric(METRIC.resultsArchived) private readonly archived: Counter<string>,
    @InjectMetric(METRIC.resultsWriteLag) private readonly lag: Histogram<string>,
    @InjectMetric(METRIC.resultsBatchSize) private readonly batchSize: Histogram<string>,
    @InjectMetric(METRIC.resultsStoreErrors) private readonly errors: Counter<string>,
  ) {}

  start(): void {
    if (!this.options.results.postgres) return;
    this.limitGauge.set(this.options.results.bufferMax);
    for (const op of ['write', 'claim', 'settle', 'retention']) this.errors.inc({ op }, 0);
    this.started = true;
    this.loop.start();
  }

  /** Ends the loop, then one last pass (at most FINAL_PASS_MS) for what the pool's last acks archived. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.loop.stop();
    const deadline = Date.now() + FINAL_PASS_MS;
    await this.runOnce(deadline).catch((error: Error) =>
      this.logger.warn({ msg: `last archive pass failed (the tasks wait in Redis): ${error.message}` }),
    );
  }

  /** One pass; a full batch means more is due now (no wait), else the next after RESULTS_FLUSH_INTERVAL_MS. */
  private async pass(): Promise<number> {
    const { full } = await this.runOnce();
    this.recovered();
    return full ? 0 : this.options.results.flushIntervalMs;
  }

  /**
   * One pass over every queue: its due entries in batches until one comes back short (or `deadline`).
   * `full` says a batch came back full: there is more to do now. Pending counts are refreshed after.
   */
  async runOnce(deadline = Infinity): Promise<{ written: number; full: boolean }> {
    const queues = (await this.archive.queues()).sort(() => Math.random() - 0.5);
    let written = 0;
    let full = false;
    try {
      for (const queue of queues) {
        // PARALLEL_BATCHES chains per queue (claims are leased, so they never share a task): one
        // writes to PostgreSQL while another talks to Redis. A few batches per chain per pass, so one
        // busy queue cannot starve the others' archiving.
        const chains = Array.from({ length: PARALLEL_BATCHES }, async () => {
          for (let round = 0; round < ROUNDS_PER_PASS && Date.now() < deadline; round++) {
            const count = await this.flush(queue);
            written += count;
            if (count < this.options.results.batchSize) return;
            if (round === ROUNDS_PER_PASS - 1) full = true;
          }
        });
        await Promise.all(chains);
      }
    } finally {
      await this.refreshPending(queues).catch(() => undefined);
    }
    return { written, full };
  }

  /** One batch of one queue: claim → write → settle. Returns how many tasks it took. */
  private async flush(queue: string): Promise<number> {
    const started = performance.now();
    const { leaseMs } = this.options.results;
    const claim = await this.counted('claim', () =>
      this.archive.claim(queue, this.options.results.batchSize, leaseMs, BATCH_BYTES),
    );
    if (claim.dropped) {
      this.logger.warn({ msg: `${claim.dropped} archive entries had no task hash left; dropped`, queue });
    }
    if (!claim.tasks.length) return 0;
    const leaseEnds = Date.now() + leaseMs - commitMarginMs(leaseMs);
    const written = await this.write(queue, claim.tasks, () => Date.now() < leaseEnds);
    // Redis time at the commit, without trusting this host's clock against Redis'.
    const committedAt = claim.now + (performance.now() - started);
    for (const task of written) {
      const status = isFinishedStatus(task.record.status) ? task.record.status : 'requeued';
      this.archived.inc({ queue, status });
      if (status !== 'requeued' && task.record.finishedAt !== null) {
        this.lag.observe({ queue }, Math.max(0, committedAt - task.record.finishedAt) / 1000);
      }
    }
    if (written.length) this.batchSize.observe(written.length);
    await this.counted('settle', () => this.archive.settle(queue, 'written', keysOf(written)));
    return claim.tasks.length;
  }

  /**
   * Writes the batch in one transaction. PostgreSQL away (or the lease over): the batch is due again at
   * once and the pass fails (the loop backs off). Refused for its content: the tasks are written one by
   * one, so one bad row cannot hold the others back; a task that still fails keeps its lease, comes
   * back when it runs out (RESULTS_LEASE_MS: a retry without a tight loop) and is logged each time.
   */
  private async write(queue: string, tasks: ArchivedTask[], mayCommit: () => boolean): Promise<ArchivedTask[]> {
    try {
      await this.store.write(tasks, { mayCommit });
      return tasks;
    } catch (error) {
      this.errors.inc({ op: 'write' });
      const content = error instanceof ResultStoreError && error.code === 'failed' && mayCommit();
      if (!content) {
        await this.archive.settle(queue, 'failed', keysOf(tasks)).catch(() => undefined);
        throw error;
      }
      if (tasks.length === 1) {
        this.logFailedTask(queue, tasks[0], error as Error);
        return [];
      }
    }
    const written: ArchivedTask[] = [];
    for (const task of tasks) {
      try {
        await this.store.write([task], { mayCommit });
        written.push(task);
      } catch (error) {
        this.errors.inc({ op: 'write' });
        this.logFailedTask(queue, task, error as Error);
      }
    }
    return written;
  }

  private logFailedTask(queue: string, task: ArchivedTask, error: Error): void {
    this.logger.error({
      msg: `PostgreSQL refused this task's row; it stays in Redis and is tried again: ${error.message}`,
      taskId: task.record.id,
      taskType: task.record.type,
      queue,
    });
  }

  private async refreshPending(queues: string[]): Promise<void> {
    const pending = await this.archive.pending(queues);
    this.backpressure.update(pending, this.options.results.bufferMax);
    // Every registered queue is set below: a queue that is gone (forgotten) loses its series.
    this.pendingGauge.reset();
    this.pausedGauge.reset();
    for (const [queue, count] of pending) {
      this.pendingGauge.set({ queue }, count);
      this.pausedGauge.set({ queue }, this.backpressure.blocked(queue) ? 1 : 0);
    }
  }

  private async counted<T>(op: 'claim' | 'settle', call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      this.errors.inc({ op });
      throw error;
    }
  }

  /** A pass failed: log (not every time), and wait longer the longer it keeps failing. */
  private failed(error: unknown): number {
    const now = Date.now();
    if (this.failures === 0) this.failingSince = now;
    this.failures++;
    if (this.failures === 1 || now - this.lastFailureLog >= FAILURE_LOG_EVERY_MS) {
      this.lastFailureLog = now;
      this.logger.warn({
        msg: `cannot archive finished tasks (they wait in Redis, see results_pending): ${(error as Error).message}`,
        failingForMs: now - this.failingSince,
      });
    }
    return Math.min(100 * 2 ** Math.min(this.failures, 6), MAX_BACKOFF_MS);
  }

  private recovered(): void {
    if (this.failures === 0) return;
    this.logger.log({ msg: `archiving again after ${Date.now() - this.failingSince} ms of failures` });
    this.failures = 0;
  }
}

function keysOf(tasks: readonly ArchivedTask[]): { id: string; rev: number }[] {
  return tasks.map((task) => ({ id: task.record.id, rev: task.rev }));
}
