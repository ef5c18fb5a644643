import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { assertScriptInt, errorForScriptCode, redisCall, SCRIPT_CODE } from './errors/queue-error';
import { queueKeys, queueRegistryKey } from './keys/queue-keys';
import { PROMOTE_BATCH, RECOVER_BATCH } from './queue.constants';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { finishedMode, QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { WakeListener } from './redis/wake-listener';
import { QueueRedis } from './scripts/script-loader';
import { registerQueues } from './scripts/queue-scripts';
import { ackTasks, claimTasks, extendLeases, failTask, recoverExpired, releaseTask } from './scripts/worker-scripts';
import { ClaimedTask, DeadReason } from './task';
import { workerOfToken } from './task-record';
import { TickBatch } from './tick-batch';

export interface ClaimResult {
  tasks: ClaimedTask[];
  /** Epoch ms (Redis clock) of the next scheduled/retrying task, or null. */
  nextDueAt: number | null;
  /** Redis clock at the claim. */
  now: number;
  /** The queue's results backlog (RESULTS_BUFFER_MAX) held this claim back. */
  backlogged: boolean;
}

export interface RecoveredTask {
  id: string;
  queue: string;
  type: string;
  outcome: 'queued' | 'dead';
}

/** What names one run of a task: enough to fence a transition by its lease. */
export type LeaseRef = Pick<ClaimedTask, 'id' | 'queue' | 'leaseToken'>;

interface PendingAck {
  task: LeaseRef;
  resultJson: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * `error` is the one line shown as last_error; `detail` (the stack, say) goes into the run's entry of
 * the attempt history instead, when given.
 */
export type FailOutcome =
  | { action: 'retry'; delayMs: number; error: string; detail?: string }
  | { action: 'dead'; reason: DeadReason; error: string; detail?: string };

/**
 * What Redis says became of a claimed run's outcome, read after a write whose reply never came (it
 * timed out, or the connection dropped while it was in flight) and so may or may not have been applied:
 * - `none`: the run still holds its lease; nothing was written, write it again;
 * - `succeeded`, `retried`, `dead`: this run's outcome was applied (the hash, or this run's entry in the
 *   attempt history, says so);
 * - `lost`: the lease went to something else (expired and recovered, cancelled): nothing of this run;
 * - `unknown`: the task's hash is gone (finished and dropped: RESULT_TTL_SECONDS=0, or archived).
 */
export type AppliedOutcome = 'none' | 'succeeded' | 'retried' | 'dead' | 'lost' | 'unknown';

/** Longest error detail (message and stack) kept per attempt in the attempt history. */
export const ATTEMPT_ERROR_MAX_CHARS = 2000;

/** The worker's side of the queue: every transition of a claimed task, each one script call. */
@Injectable()
export class QueueConsumer {
  /**
   * Names this consumer in the attempt history (`<host>:<pid>:<random>`) and makes lease tokens unique
   * across workers and calls: a token is `<workerId>:<call>:<slot>`, so the scripts read the worker
   * that holds a lease off its token.
   */
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private calls = 0;
  /** Acks of this tick, sent as one script call per queue. */
  private readonly acks = new TickBatch<PendingAck>((acks) => this.flushAcks(acks));

  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    private readonly wake: WakeListener,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /**
   * Records the queues this worker serves, so `GET /queues` lists them before any task. Configured
   * queues are the operator's choice, so they are not held to MAX_QUEUES (which bounds what API
   * clients can create).
   */
  async register(queues: string[]): Promise<void> {
    await redisCall('register', () =>
      registerQueues.run(this.redis, { registry: queueRegistryKey(this.options.prefix) }, { maxQueues: 0, queues }),
    );
  }

  /**
   * Promotes due tasks, then claims up to `max` (0 = promote only). `tokenPrefix` names another holder
   * of the leases (an HTTP worker: `<its id>:<random digits>`); it must end with `:<digits>` and be
   * unique per call, as this consumer's own `<workerId>:<call>` is.
   */
  async claim(queue: string, max: number, tokenPrefix?: string): Promise<ClaimResult> {
    const keys = queueKeys(this.options.prefix, queue);
    const token = tokenPrefix ?? `${this.workerId}:${++this.calls}`;
    const claimed = await redisCall('claim', () =>
      claimTasks.run(this.redis, keys, {
        queue,
        taskPrefix: keys.taskPrefix,
        max: assertScriptInt('claim', 'max', max),
        leaseMs: this.options.leaseMs,
        tokenPrefix: token,
        promoteBatch: PROMOTE_BATCH,
        resultsBufferMax: this.options.resultsBackend === 'postgres' ? (this.options.resultsBufferMax ?? 0) : 0,
      }),
    );
    return claimed;
  }

  /**
   * Blocks until a producer signals new work on one of the queues, or the timeout passes, or
   * `interruptWaits()` is called (then it returns at once, now and on every later call).
   */
  waitForWork(queues: string[], timeoutMs: number): Promise<void> {
    return this.wake.wait(queues, timeoutMs);
  }

  /** Shutdown: ends a blocking wait in progress at once, so stopping never waits out WORKER_IDLE_WAIT_MS. */
  interruptWaits(): void {
    this.wake.interrupt();
  }

  /**
   * Succeeded: stores the result (JSON) for RESULT_TTL_SECONDS. Rejects with LeaseLost if the lease
   * is gone. Acks made in the same tick (tasks of one claim finish together) are coalesced into one
   * script call per queue; each task is still fenced by its own token and settles on its own.
   */
  ack(task: LeaseRef, resultJson: string): Promise<void> {
    return new Promise<void>((resolve, reject) => this.acks.add({ task, resultJson, resolve, reject }));
  }

  private flushAcks(acks: PendingAck[]): void {
    const byQueue = new Map<string, PendingAck[]>();
    for (const ack of acks) {
      const group = byQueue.get(ack.task.queue);
      if (group) group.push(ack);
      else byQueue.set(ack.task.queue, [ack]);
    }
    for (const [queue, group] of byQueue) void this.sendAcks(queue, group);
  }

  private async sendAcks(queue: string, acks: PendingAck[]): Promise<void> {
    const keys = queueKeys(this.options.prefix, queue);
    let codes: number[];
    try {
      codes = await redisCall('ack', () =>
        ackTasks.run(this.redis, keys, {
          taskPrefix: keys.taskPrefix,
          resultTtlSeconds: this.options.resultTtlSeconds,
          finishedMode: finishedMode(this.options),
          acks: acks.map((ack) => ({ id: ack.task.id, leaseToken: ack.task.leaseToken, resultJson: ack.resultJson })),
        }),
      );
    } catch (error) {
      for (const ack of acks) ack.reject(error);
      return;
    }
    acks.forEach((ack, i) => {
      const code = Number(codes[i]);
      if (code === 1) ack.resolve();
      else
        ack.reject(errorForScriptCode(code, 'ack', ack.task.id) ?? new Error(`ack: unexpected script reply ${code}`));
    });
  }

  /** Retry later or dead-letter; returns how many old dead tasks DLQ_MAX_SIZE trimmed. */
  async fail(task: LeaseRef, outcome: FailOutcome): Promise<number> {
    const keys = queueKeys(this.options.prefix, task.queue);
    const code = await redisCall('fail', () =>
      failTask.run(this.redis, keys, {
        taskPrefix: keys.taskPrefix,
        id: task.id,
        leaseToken: task.leaseToken,
        error: outcome.error,
        outcome:
          outcome.action === 'retry'
            ? {
                action: 'retry',
                delayMs: assertScriptInt('fail', 'delayMs', Math.max(0, Math.floor(outcome.delayMs))),
              }
            : { action: 'dead', reason: outcome.reason },
        dlqMaxSize: this.options.dlqMaxSize,
        finishedMode: finishedMode(this.options),
        detail: truncate(outcome.detail ?? '', ATTEMPT_ERROR_MAX_CHARS),
      }),
    );
    this.check(code, 'fail', task.id);
    return code;
  }

  /** Shutdown: back to the front of the queue, attempt not burned; idle workers are woken to take it. */
  async release(task: LeaseRef): Promise<void> {
    const keys = queueKeys(this.options.prefix, task.queue);
    const code = await redisCall('release', () =>
      releaseTask.run(this.redis, keys, { taskPrefix: keys.taskPrefix, id: task.id, leaseToken: task.leaseToken }),
    );
    this.check(code, 'release', task.id);
  }

  /** Extends the leases of the given tasks of one queue; returns the lease tokens that were lost. */
  async heartbeat(queue: string, tasks: Pick<ClaimedTask, 'id' | 'leaseToken'>[]): Promise<string[]> {
    if (!tasks.length) return [];
    const keys = queueKeys(this.options.prefix, queue);
    return redisCall('heartbeat', () =>
      extendLeases.run(this.redis, keys, { taskPrefix: keys.taskPrefix, leaseMs: this.options.leaseMs, leases: tasks }),
    );
  }

  /**
   * Whether this run's outcome was applied (see AppliedOutcome). A run is told apart from a later run
   * of the same task by its start time and worker: every claim stamps `started_at` (the time the claim
   * reply carries) and each finished run keeps both, in the hash or in its attempt-history entry.
   */
  async appliedOutcome(task: ClaimedTask): Promise<AppliedOutcome> {
    const key = `${queueKeys(this.options.prefix, task.queue).taskPrefix}${task.id}`;
    const [status, lease, startedAt, worker, history] = await redisCall('appliedOutcome', () =>
      this.redis.hmget(key, 'status', 'lease', 'started_at', 'worker', 'history'),
    );
    if (status === null) return 'unknown';
    if (lease === task.leaseToken) return 'none';
    const ours = workerOfToken(task.leaseToken);
    if (status === 'succeeded' && Number(startedAt) === task.claimedAt && worker === ours) return 'succeeded';
    let runs: { started_at?: number; worker?: string; outcome?: string }[] = [];
    try {
      runs = history ? (JSON.parse(history) as typeof runs) : [];
    } catch {
      runs = [];
    }
    const entry = runs.find((run) => run.started_at === task.claimedAt && run.worker === ours);
    return entry?.outcome === 'retried' || entry?.outcome === 'dead' ? entry.outcome : 'lost';
  }

  /**
   * Recovers tasks whose lease expired. With `lockMs`, only one caller per period does the work.
   * Loops over full batches so a large backlog is cleared in one call.
   */
  async recoverExpired(queue: string, lockMs: number): Promise<RecoveredTask[]> {
    const keys = queueKeys(this.options.prefix, queue);
    const recovered: RecoveredTask[] = [];
    for (let lock = lockMs; ; lock = 0) {
      const batch = await redisCall('recover', () =>
        recoverExpired.run(this.redis, keys, {
          taskPrefix: keys.taskPrefix,
          batch: RECOVER_BATCH,
          maxRecoveries: this.options.maxRecoveries,
          lockMs: lock,
          lockOwner: this.workerId,
          dlqMaxSize: this.options.dlqMaxSize,
          finishedMode: finishedMode(this.options),
        }),
      );
      recovered.push(...batch.map((task) => ({ ...task, queue })));
      if (batch.length < RECOVER_BATCH) return recovered;
    }
  }

  private check(code: number, op: string, id: string): void {
    if (code === SCRIPT_CODE.LeaseLost || code === SCRIPT_CODE.NotFound || code === SCRIPT_CODE.WrongState) {
      throw errorForScriptCode(code, op, id);
    }
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars, truncated)` : text;
}
