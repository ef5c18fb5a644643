import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { QueueConsumer, WorkerRegistry } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { LeaseLostError } from '../run/run-errors';
import { BackgroundTask } from './background-task';
import { RunRegistry } from './run-registry';

/**
 * Renews the leases of every run this worker holds, one script call per queue every third of
 * TASK_LEASE_MS. A lease that is no longer ours (we stalled past it and the task was recovered)
 * aborts its run: the outcome would be refused anyway, and the task runs again elsewhere. Each beat
 * also reports the worker (queues, concurrency, in flight) to the registry the console lists.
 */
@Injectable()
export class Heartbeat {
  private readonly logger = new Logger(Heartbeat.name);
  private readonly task: BackgroundTask;

  /** This worker, as the registry names it: host, pid and a random suffix (pids repeat across restarts). */
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly startedAt = Date.now();

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly runs: RunRegistry,
    private readonly workers: WorkerRegistry,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
  ) {
    this.task = new BackgroundTask('heartbeat', options.heartbeatIntervalMs, () => this.beat(), this.logger);
  }

  start(): void {
    void this.report().catch(() => undefined);
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
    await this.workers.remove(this.workerId).catch(() => undefined);
  }

  async beat(): Promise<void> {
    await Promise.all([this.extendLeases(), this.report()]);
  }

  private report(): Promise<void> {
    return this.workers.report({
      id: this.workerId,
      host: hostname(),
      pid: process.pid,
      queues: this.options.queues.map((q) => q.name),
      concurrency: this.options.concurrency,
      inFlight: this.runs.size,
      inFlightByQueue: this.runs.countByQueue(),
      startedAt: this.startedAt,
      lastSeen: Date.now(),
    });
  }

  private async extendLeases(): Promise<void> {
    await Promise.all(
      [...this.runs.liveByQueue()].map(async ([queue, runs]) => {
        const sentAt = Date.now();
        const lost = new Set(
          await this.consumer.heartbeat(
            queue,
            runs.map((run) => run.task),
          ),
        );
        for (const run of runs) {
          if (!lost.has(run.token)) {
            run.leaseUntil = sentAt + this.consumer.leaseMs;
            continue;
          }
          run.abandon('lease_lost', new LeaseLostError());
          this.logger.warn({
            msg: 'lease lost (stalled past TASK_LEASE_MS?); run aborted, the task runs again elsewhere',
            taskId: run.task.id,
            taskType: run.task.type,
            queue,
          });
        }
      }),
    );
  }
}
