import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KEY_SCHEMA_VERSION, QueueConsumer, WorkerRegistry } from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { ServiceLoop } from '@app/queue';
import { LeaseLostError } from '../run/run-errors';
import { RunRegistry } from './run-registry';

/**
 * Renews the leases of every run this worker holds, one script call per queue every third of
 * TASK_LEASE_MS, on a fixed cadence: a renewal that is slow to answer does not hold back the next
 * one, nor the other queues' (on a Cluster each queue's master answers for itself). The worker's
 * report to the registry the console lists (queues, concurrency, in flight) is a job of its own, so a
 * slow registry write (its key lives on one master, maybe one failing over) cannot cost a lease.
 * TASK_LEASE_MS must leave a renewal REDIS_COMMAND_TIMEOUT_MS to land (the worker refuses to boot
 * otherwise, see WorkerEnv). A lease that is no longer ours (we stalled past it and the task was
 * recovered) aborts its run: the outcome would be refused anyway, and the task runs again elsewhere.
 */
@Injectable()
export class Heartbeat {
  private readonly logger = new Logger(Heartbeat.name);
  /** The renewal timer: a fixed cadence, not a loop (a renewal never waits for the one before it). */
  private renewalTimer?: NodeJS.Timeout;
  private readonly renewals = new Set<Promise<void>>();
  private readonly reporting: ServiceLoop;

  /** This worker, as the registry names it: host, pid and a random suffix (pids repeat across restarts). */
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly startedAt = Date.now();

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly runs: RunRegistry,
    private readonly workers: WorkerRegistry,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
  ) {
    const every = options.heartbeatIntervalMs;
    this.reporting = new ServiceLoop('worker report', () => this.report(), this.logger, {
      firstDelayMs: every,
      intervalMs: every,
      backoff: { baseMs: every, maxMs: every },
    });
  }

  start(): void {
    void this.report().catch(() => undefined);
    this.renewalTimer = setInterval(() => this.renew(), this.options.heartbeatIntervalMs);
    this.reporting.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.renewalTimer);
    await Promise.all([...this.renewals, this.reporting.stop()]);
    await this.workers.remove(this.workerId).catch(() => undefined);
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
      schema: KEY_SCHEMA_VERSION,
      kind: 'native',
      startedAt: this.startedAt,
      lastSeen: Date.now(),
    });
  }

  private renew(): void {
    const renewal = this.extendLeases()
      .catch((error: Error) => this.logger.warn({ msg: `lease renewal failed: ${error.message}` }))
      .finally(() => this.renewals.delete(renewal));
    this.renewals.add(renewal);
  }

  /** One renewal per queue; each queue's renewal settles on its own, and the next beat does not wait for it. */
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
            // Renewals may overlap (a slow one answers after a newer one): keep the later deadline.
            run.leaseUntil = Math.max(run.leaseUntil, sentAt + this.consumer.leaseMs);
            continue;
          }
          if (run.abandoned) continue;
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
