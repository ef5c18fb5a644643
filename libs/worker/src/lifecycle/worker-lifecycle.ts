import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { QueueAdmin, QueueConsumer, WorkerRegistry } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { CancelListener } from '../pool/cancel-listener';
import { Heartbeat } from '../pool/heartbeat';
import { WorkerPool } from '../pool/worker-pool';
import { LeaseRecoverer } from '../recovery/lease-recoverer';
import { SchemaUpgrader } from '../recovery/schema-upgrader';
import { ResultArchiver } from '../results/result-archiver';
import { RetentionSweeper } from '../results/retention-sweeper';
import { Scheduler } from '../schedules/scheduler';
import { TaskThreadPool } from '../threads/task-thread-pool';
import { ServiceLoop } from '@app/queue';

/**
 * The one owner of the worker's background components (each with `start()` / `stop()`), started
 * and stopped in a fixed order:
 *
 *   start: worker threads (when a task type is thread-isolated; a module that does not load refuses the
 *          boot before anything else starts) → register the served queues, apply QUEUE_LIMITS → cancel
 *          listener → heartbeat → (in the background, once no worker of a release with an earlier key
 *          schema is alive: see earlierReleases) recoverer → key schema migration (until done) →
 *          result archiver, retention (RESULTS_BACKEND=postgres) → scheduler (upserts the @TaskSchedule
 *          declarations, then fires due schedules) → pool (claiming last)
 *   stop:  scheduler (no new scheduled tasks; the other replicas fire the next ticks) → pool (stop
 *          claiming at once, drain up to SHUTDOWN_GRACE_MS, release the rest, which terminates their
 *          threads) → worker threads → result archiver (a last pass for the pool's last acks) → retention
 *          → key schema migration → recoverer → heartbeat (it kept the draining runs' leases alive) →
 *          cancel listener → QueueModule closes Redis, ResultsModule PostgreSQL
 */
@Injectable()
export class WorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerLifecycle.name);
  /** Waits for the workers of an earlier key schema to stop, then starts the rest (once). */
  private readonly waitForEarlier = new ServiceLoop('start', () => this.startWhenAlone(), this.logger, {
    failureMessage: (error) => `could not read the worker registry (retrying): ${error.message}`,
  });
  private started = false;
  private waitingSince?: number;

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly admin: QueueAdmin,
    private readonly cancels: CancelListener,
    private readonly heartbeat: Heartbeat,
    private readonly recoverer: LeaseRecoverer,
    private readonly upgrader: SchemaUpgrader,
    private readonly archiver: ResultArchiver,
    private readonly retention: RetentionSweeper,
    private readonly pool: WorkerPool,
    private readonly scheduler: Scheduler,
    private readonly threads: TaskThreadPool,
    private readonly workers: WorkerRegistry,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.threads.start();
    await this.consumer.register(this.options.queues.map((q) => q.name)).catch((error: Error) => {
      this.logger.warn({ msg: `could not register queues yet (the recoverer retries): ${error.message}` });
    });
    for (const [queue, limits] of this.options.queueLimits) {
      await this.admin.setLimits(queue, limits).catch((error: Error) => {
        this.logger.warn({ msg: `could not apply QUEUE_LIMITS to ${queue}: ${error.message}`, queue });
      });
    }
    await this.cancels.start();
    this.heartbeat.start();
    // In the background: the health endpoints answer while this worker waits.
    this.waitForEarlier.start();
  }

  /**
   * A pass of waitForEarlier. A worker of an earlier release cannot read the tasks this release writes and
   * migrates (its claim would pop one and fail on a field no longer stored, leaving it in no index), so this
   * worker claims, recovers, fires and migrates nothing while one is alive: the upgrade drains the earlier
   * workers first. Their entries in the registry lapse TASK_LEASE_MS after they stop (or are killed).
   */
  private async startWhenAlone(): Promise<number | void> {
    const earlier = await this.workers.earlierReleases(3 * this.options.heartbeatIntervalMs);
    if (earlier.length > 0) {
      if (this.waitingSince === undefined) {
        this.waitingSince = Date.now();
        this.logger.warn({
          msg:
            `${earlier.length} worker(s) of an earlier release are running (${earlier.map((w) => w.id).join(', ')}); ` +
            'this worker starts no task until they stop, because they cannot read the key schema it writes: ' +
            'stop or scale down the earlier workers (README, Upgrading the key schema)',
        });
      }
      return this.options.heartbeatIntervalMs;
    }
    if (this.waitingSince !== undefined) {
      this.logger.log({ msg: `the earlier workers stopped after ${Date.now() - this.waitingSince} ms; starting` });
    }
    this.started = true;
    this.recoverer.start();
    this.upgrader.start();
    this.archiver.start();
    this.retention.start();
    this.scheduler.start();
    this.pool.start();
    void this.waitForEarlier.stop();
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.log({ msg: `shutting down (${signal ?? 'close'})` });
    await this.waitForEarlier.stop();
    if (!this.started) {
      await this.threads.stop();
      await this.heartbeat.stop();
      await this.cancels.stop();
      return;
    }
    await this.scheduler.stop();
    await this.pool.stop();
    await this.threads.stop();
    await this.archiver.stop();
    await this.retention.stop();
    await this.upgrader.stop();
    await this.recoverer.stop();
    await this.heartbeat.stop();
    await this.cancels.stop();
  }
}
