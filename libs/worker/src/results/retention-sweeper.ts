import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import { ResultStore } from '@app/results';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { ServiceLoop } from '@app/queue';

/** First sweep this long after start (workers that restart often still sweep), then every RETENTION_EVERY_MS. */
const FIRST_SWEEP_MS = 60_000;
export const RETENTION_EVERY_MS = 10 * 60_000;
/** Rows per DELETE: each statement is its own short transaction and skips rows other sweepers hold. */
export const RETENTION_BATCH = 5000;
const DAY_MS = 86_400_000;

/**
 * The result store's housekeeping (RESULTS_BACKEND=postgres). RESULTS_RETENTION_DAYS: deletes rows
 * finished longer ago, in batches of RETENTION_BATCH that never hold a lock for long. Also prunes the
 * revision rows no write can need any more and folds the finished counts' changes (ResultStore), with
 * any retention. Every worker runs it; concurrent sweeps share the work (SKIP LOCKED) instead of
 * waiting on each other.
 */
@Injectable()
export class RetentionSweeper {
  private readonly logger = new Logger(RetentionSweeper.name);
  // The pass drops runOnce's count: a number returned to the loop would be read as the wait before the next pass.
  private readonly loop = new ServiceLoop('retention sweep', () => this.runOnce().then(() => undefined), this.logger, {
    firstDelayMs: FIRST_SWEEP_MS,
    intervalMs: RETENTION_EVERY_MS,
    onFailure: (error) => {
      this.errors.inc({ op: 'retention' });
      this.logger.warn({
        msg: `retention sweep failed (tried again in ${RETENTION_EVERY_MS} ms): ${(error as Error).message}`,
      });
      return RETENTION_EVERY_MS;
    },
  });

  constructor(
    private readonly store: ResultStore,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @InjectMetric(METRIC.resultsRetentionDeleted) private readonly deleted: Counter<string>,
    @InjectMetric(METRIC.resultsStoreErrors) private readonly errors: Counter<string>,
  ) {}

  start(): void {
    if (!this.options.results.postgres) return;
    this.deleted.inc(0);
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Deletes every row finished more than RESULTS_RETENTION_DAYS ago (returns how many), then the upkeep. */
  async runOnce(now = Date.now()): Promise<number> {
    let count = 0;
    if (this.options.results.retentionDays > 0) {
      const cutoff = now - this.options.results.retentionDays * DAY_MS;
      count = await this.store.deleteFinishedBefore(cutoff, RETENTION_BATCH);
      this.deleted.inc(count);
      if (count)
        this.logger.log({
          msg: `retention: ${count} task rows finished before ${new Date(cutoff).toISOString()} deleted`,
        });
    }
    await this.store.pruneRevisions(RETENTION_BATCH);
    await this.store.compactCounts();
    return count;
  }
}
