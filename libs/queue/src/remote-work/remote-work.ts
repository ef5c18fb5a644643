import { Inject, Injectable, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { decodeBackoff } from '../backoff-field';
import { ClaimResult, QueueConsumer, RecoveredTask } from '../consumer';
import { QueueError, QueueErrorCode, redisCall } from '../errors/queue-error';
import { queueKeys, queueOfTaskId, queueRegistryKey, remoteQueuesKey } from '../keys/queue-keys';
import { KEY_SCHEMA_VERSION } from '../migration/schema-migration';
import { decideFailure, encodeResult } from '../outcomes/run-outcome-rules';
import { QUEUE_OPTIONS } from '../queue.module-definition';
import { QueueModuleOptions } from '../queue.options';
import { InjectRedis } from '../redis/inject-redis.decorator';
import { QueueRedis } from '../scripts/script-loader';
import { ClaimedTask, DeadReason } from '../task';
import { UNSTORED_SETTINGS } from '../task-record';
import { WorkerRegistry } from '../workers';
import { WakeHub } from './wake-hub';

/** An HTTP worker names itself with this (it becomes the worker part of its lease tokens). */
export const REMOTE_WORKER_ID_PATTERN = /^[A-Za-z0-9_.@-][A-Za-z0-9_.:@-]{0,127}$/;
/** Longest a claim may wait for work, and most tasks one claim may take. */
export const REMOTE_CLAIM_LIMITS = { maxTasks: 100, maxWaitMs: 30_000 } as const;
/** Longest slice of a long-poll before it claims again (a wake-up marker can be taken by another waiter). */
const WAIT_SLICE_MS = 1000;
/** Queues no HTTP worker claimed from for this long leave the set the api recovers. */
const REMOTE_QUEUE_FORGET_MS = 7 * 86_400_000;
/**
 * A queue an HTTP worker claimed from this recently is served (a long-poll claims at least every
 * REMOTE_CLAIM_LIMITS.maxWaitMs): the api's recovery marks it so (GET /queues: last_served_at,
 * unserved) and promotes its due tasks, as a native worker's recoverer does for its queues.
 */
const REMOTE_SERVED_MS = 2 * REMOTE_CLAIM_LIMITS.maxWaitMs;
/** How often at most this process rewrites an HTTP worker's registry entry, and a queue's last-claim mark. */
const WRITE_EVERY_MS = 1000;
/** HTTP workers whose registry entry this process refreshes at their heartbeats (beyond it, claims still do). */
const MAX_REMEMBERED_WORKERS = 10_000;

export interface RemoteClaimRequest {
  workerId: string;
  queues: readonly string[];
  /** The types the worker handles; a claimed task of another type is dead-lettered `unknown_task_type`. */
  taskTypes?: readonly string[];
  max: number;
  waitMs: number;
  /** Where the worker called from (GET /workers shows it as the host). */
  host: string;
  /** Aborted when the worker hung up: the long-poll ends, and tasks claimed meanwhile are handed back. */
  signal?: AbortSignal;
}

export interface RemoteClaimedTask extends ClaimedTask {
  /** Epoch ms (Redis clock) the lease ends unless a heartbeat extends it. */
  leaseExpiresAt: number;
}

/** A transition refused because the caller's lease is over; nothing was written. */
export class LeaseEndedError extends QueueError {
  constructor(
    op: string,
    id: string,
    /** The task was cancelled: the worker should stop and report nothing. */
    readonly cancelled: boolean,
    /** The api ended the run because it passed its timeout_ms (the failure is recorded as for a native run). */
    readonly timedOut = false,
  ) {
    super(
      QueueErrorCode.LeaseLost,
      op,
      cancelled
        ? `task ${id} was cancelled: stop working on it and report nothing`
        : timedOut
          ? `task ${id} ran past its timeout_ms: the run was ended as timed out (retried or dead-lettered as a native run is); stop working on it`
          : `the lease on task ${id} is not this token's (it expired and the task was recovered, or the token is another run's): stop working on it; its outcome would not be written`,
    );
  }
}

export type RemoteFailOutcome =
  { status: 'retrying'; retryAt: number; delayMs: number } | { status: 'dead'; reason: DeadReason };

export type RemoteCompleteOutcome = { status: 'succeeded' } | { status: 'dead'; reason: DeadReason; error: string };

/** The retry delay of a task of `type` without its own backoff (the api's task type settings). */
export type TypeDelay = (type: string, attempt: number) => number;

const LEASE_FIELDS = [
  'status',
  'lease',
  'type',
  'attempts',
  'max_retries',
  'timeout_ms',
  'started_at',
  'backoff',
] as const;

/**
 * The queue side of the HTTP worker protocol: claims, heartbeats, completions and failures of workers
 * that are not taskq processes, through the same scripts (and the same leases, fencing, limits, retry
 * and dead-letter rules) as native workers. The api's /work routes are its only caller.
 */
@Injectable()
export class RemoteWork implements OnModuleDestroy, OnApplicationShutdown {
  private readonly hub: WakeHub;
  /** The latest report of each HTTP worker seen by this process, refreshed at its heartbeats. */
  private readonly reports = new Map<
    string,
    { queues: string[]; concurrency: number; host: string; startedAt: number; reportedAt: number }
  >();
  /** When this process last recorded each queue as claimed from by an HTTP worker (remoteQueuesKey). */
  private readonly queuesMarkedAt = new Map<string, number>();

  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    private readonly consumer: QueueConsumer,
    private readonly workers: WorkerRegistry,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {
    this.hub = new WakeHub(options);
  }

  /**
   * Claims up to `max` tasks across the queues, in their order; with `waitMs`, waits until one is there
   * (a wake-up from a submit, or the next scheduled task's due time) or the time is up.
   */
  async claim(request: RemoteClaimRequest): Promise<RemoteClaimedTask[]> {
    const deadline = Date.now() + request.waitMs;
    await this.seen(request);
    for (;;) {
      const mark = this.hub.mark(request.queues);
      let nextDueAt: number | null = null;
      const tasks: RemoteClaimedTask[] = [];
      for (const queue of request.queues) {
        const want = request.max - tasks.length;
        if (want <= 0) break;
        const claimed: ClaimResult = await this.consumer.claim(
          queue,
          want,
          `${request.workerId}:${randomInt(2 ** 47)}`,
        );
        for (const task of claimed.tasks) tasks.push({ ...task, leaseExpiresAt: claimed.now + this.options.leaseMs });
        if (claimed.nextDueAt !== null) nextDueAt = Math.min(nextDueAt ?? Infinity, claimed.nextDueAt);
      }
      if (tasks.length) return this.handOver(request, tasks);
      const left = deadline - Date.now();
      if (left <= 0 || request.signal?.aborted) return [];
      const untilDue = nextDueAt === null ? Infinity : Math.max(1, nextDueAt - Date.now());
      await this.hub.wait(request.queues, mark, Math.min(left, WAIT_SLICE_MS, untilDue), request.signal);
      if (request.signal?.aborted) return [];
    }
  }

  /** Extends the run's lease; returns the new expiry (epoch ms). */
  async heartbeat(id: string, leaseToken: string, typeDelay: TypeDelay): Promise<number> {
    const { queue, lease } = await this.readLease('heartbeat', id, leaseToken);
    if (Date.now() - lease.startedAt > lease.timeoutMs) {
      await this.failRun(queue, id, leaseToken, lease, 'timed out', { timedOut: true }, typeDelay);
      throw new LeaseEndedError('heartbeat', id, false, true);
    }
    const lost = await this.consumer.heartbeat(queue, [{ id, leaseToken }]);
    if (lost.length) throw await this.leaseEnded('heartbeat', id);
    this.refreshReport(leaseToken);
    return Date.now() + this.options.leaseMs;
  }

  /** Stores the run's result (or dead-letters it when MAX_RESULT_BYTES refuses it, as for a native run). */
  async complete(
    id: string,
    leaseToken: string,
    result: unknown,
    maxResultBytes: number,
  ): Promise<RemoteCompleteOutcome> {
    const queue = this.queueOf('complete', id);
    const encoded = encodeResult(result, maxResultBytes);
    try {
      if ('dead' in encoded) {
        await this.consumer.fail({ id, queue, leaseToken }, { action: 'dead', ...encoded.dead });
        return { status: 'dead', ...encoded.dead };
      }
      await this.consumer.ack({ id, queue, leaseToken }, encoded.json);
      return { status: 'succeeded' };
    } catch (error) {
      if (error instanceof QueueError && error.code === QueueErrorCode.LeaseLost)
        throw await this.leaseEnded('complete', id);
      throw error;
    } finally {
      this.refreshReport(leaseToken);
    }
  }

  /** The run failed: retried after its backoff while attempts remain, else (or when not retryable) dead. */
  async fail(
    id: string,
    leaseToken: string,
    error: { message: string; stack?: string },
    retryable: boolean,
    typeDelay: TypeDelay,
  ): Promise<RemoteFailOutcome> {
    const { queue, lease } = await this.readLease('fail', id, leaseToken);
    this.refreshReport(leaseToken);
    return this.failRun(queue, id, leaseToken, lease, error.message, { retryable, stack: error.stack }, typeDelay);
  }

  /**
   * Recovers expired leases of the queues HTTP workers claimed from (a native worker recovers only the
   * queues it serves); `lockMs` makes one process per period do each queue's work. Queues they claim
   * from now are marked served and get their due tasks promoted.
   */
  async recoverRemoteQueues(lockMs: number): Promise<RecoveredTask[]> {
    const key = remoteQueuesKey(this.options.prefix);
    const [queues, registered] = await Promise.all([
      redisCall('remoteQueues', () => this.redis.hgetall(key)),
      redisCall('remoteQueues', () => this.redis.smembers(queueRegistryKey(this.options.prefix))),
    ]);
    const known = new Set(registered);
    const now = Date.now();
    const recovered: RecoveredTask[] = [];
    const forgotten: string[] = [];
    for (const [queue, lastClaim] of Object.entries(queues)) {
      const idleMs = now - Number(lastClaim);
      // A queue that does not exist (a claim may name any) is not recovered, nor kept: no key is made for it.
      if (!known.has(queue) || idleMs > REMOTE_QUEUE_FORGET_MS) {
        forgotten.push(queue);
        continue;
      }
      recovered.push(...(await this.consumer.recoverExpired(queue, lockMs)));
      if (idleMs <= REMOTE_SERVED_MS) await this.consumer.claim(queue, 0);
    }
    if (forgotten.length) await redisCall('remoteQueues', () => this.redis.hdel(key, ...forgotten));
    return recovered;
  }

  onModuleDestroy(): void {
    // Long-polls in progress answer (empty) now, so the HTTP server's close does not wait them out.
    this.hub.interrupt();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.hub.close();
  }

  /** Records the worker (GET /workers) and the queues it serves (recovery), once per claim request. */
  private async seen(request: RemoteClaimRequest): Promise<void> {
    const now = Date.now();
    const earlier = this.reports.get(request.workerId);
    // Most recently seen last; the longest silent goes first past the bound (worker ids may be per process).
    this.reports.delete(request.workerId);
    if (this.reports.size >= MAX_REMEMBERED_WORKERS) this.reports.delete(this.reports.keys().next().value!);
    const entry = {
      queues: [...request.queues],
      concurrency: request.max,
      host: request.host,
      startedAt: earlier?.startedAt ?? now,
      reportedAt: earlier?.reportedAt ?? 0,
    };
    this.reports.set(request.workerId, entry);
    // Written at most every WRITE_EVERY_MS per worker and per queue: a busy worker claims many times a second,
    // and each write is a syscall and a Redis command for nothing new.
    const writes: Promise<unknown>[] = [];
    const changed =
      earlier === undefined ||
      earlier.queues.join() !== entry.queues.join() ||
      earlier.concurrency !== entry.concurrency;
    if (changed || now - entry.reportedAt >= WRITE_EVERY_MS) writes.push(this.report(request.workerId));
    const stale = request.queues.filter((queue) => now - (this.queuesMarkedAt.get(queue) ?? 0) >= WRITE_EVERY_MS);
    if (stale.length) {
      if (this.queuesMarkedAt.size > MAX_REMEMBERED_WORKERS) this.queuesMarkedAt.clear();
      for (const queue of stale) this.queuesMarkedAt.set(queue, now);
      const key = remoteQueuesKey(this.options.prefix);
      const fields = Object.fromEntries(stale.map((queue) => [queue, String(now)]));
      writes.push(redisCall('remoteQueues', () => this.redis.hset(key, fields)));
    }
    await Promise.all(writes);
  }

  private report(workerId: string): Promise<void> {
    const seen = this.reports.get(workerId);
    if (!seen) return Promise.resolve();
    seen.reportedAt = Date.now();
    return this.workers.report({
      id: workerId,
      kind: 'http',
      host: seen.host,
      pid: 0,
      queues: seen.queues,
      concurrency: seen.concurrency,
      // The api does not follow an HTTP worker's runs between its calls.
      inFlight: 0,
      schema: KEY_SCHEMA_VERSION,
      startedAt: seen.startedAt,
      lastSeen: Date.now(),
    });
  }

  /** A heartbeat, complete or fail keeps the worker listed while it works on a long task. */
  private refreshReport(leaseToken: string): void {
    const workerId = /^(.*):\d+:\d+$/.exec(leaseToken)?.[1];
    const seen = workerId === undefined ? undefined : this.reports.get(workerId);
    if (seen && Date.now() - seen.reportedAt >= WRITE_EVERY_MS) void this.report(workerId!).catch(() => undefined);
  }

  /** Tasks claimed for a worker that hung up meanwhile go back to the front of their queue. */
  private async handOver(request: RemoteClaimRequest, tasks: RemoteClaimedTask[]): Promise<RemoteClaimedTask[]> {
    if (request.signal?.aborted) {
      await Promise.all(tasks.map((task) => this.consumer.release(task).catch(() => undefined)));
      return [];
    }
    if (!request.taskTypes) return tasks;
    const handled = new Set(request.taskTypes);
    const kept: RemoteClaimedTask[] = [];
    for (const task of tasks) {
      if (handled.has(task.type)) {
        kept.push(task);
        continue;
      }
      // As a native worker does with a type it has no handler for: the task is dead, not bounced around.
      await this.consumer
        .fail(task, {
          action: 'dead',
          reason: 'unknown_task_type',
          error: `HTTP worker ${request.workerId} claimed it but handles only ${request.taskTypes.join(', ')}: serve this type from a queue of its own`,
        })
        .catch(() => undefined);
    }
    return kept;
  }

  private async failRun(
    queue: string,
    id: string,
    leaseToken: string,
    lease: LeaseFacts,
    message: string,
    cause: { retryable?: boolean; timedOut?: boolean; stack?: string },
    typeDelay: TypeDelay,
  ): Promise<RemoteFailOutcome> {
    const decision = decideFailure(
      lease,
      { permanent: cause.retryable === false ? 'non_retryable' : undefined, timedOut: cause.timedOut },
      (attempt) => typeDelay(lease.type, attempt),
    );
    const error = cause.timedOut ? `TaskTimeoutError: ran past its timeout_ms (${lease.timeoutMs} ms)` : message;
    const detail = cause.stack ? `${message}\n${cause.stack}` : undefined;
    try {
      if (decision.action === 'dead') {
        await this.consumer.fail({ id, queue, leaseToken }, { action: 'dead', reason: decision.reason, error, detail });
        return { status: 'dead', reason: decision.reason };
      }
      const delayMs = Math.max(0, Math.floor(decision.delayMs));
      await this.consumer.fail({ id, queue, leaseToken }, { action: 'retry', delayMs, error, detail });
      return { status: 'retrying', delayMs, retryAt: Date.now() + delayMs };
    } catch (failure) {
      if (failure instanceof QueueError && failure.code === QueueErrorCode.LeaseLost)
        throw await this.leaseEnded('fail', id);
      throw failure;
    }
  }

  private queueOf(op: string, id: string): string {
    const queue = queueOfTaskId(id);
    if (queue === undefined)
      throw new QueueError(QueueErrorCode.NotFound, op, `task ${id} does not exist (not a task id)`);
    return queue;
  }

  /** The run's facts, when `leaseToken` holds its lease; else why not (404, or 409 with `cancelled`). */
  private async readLease(op: string, id: string, leaseToken: string): Promise<{ queue: string; lease: LeaseFacts }> {
    const queue = this.queueOf(op, id);
    const key = `${queueKeys(this.options.prefix, queue).taskPrefix}${id}`;
    const [status, lease, type, attempts, maxRetries, timeoutMs, startedAt, backoff] = await redisCall(op, () =>
      this.redis.hmget(key, ...LEASE_FIELDS),
    );
    if (status === null) throw notFound(op, id);
    if (status !== 'active' || lease !== leaseToken) throw new LeaseEndedError(op, id, status === 'cancelled');
    return {
      queue,
      lease: {
        type: type ?? '',
        attempt: Number(attempts),
        maxRetries: Number(maxRetries ?? UNSTORED_SETTINGS.maxRetries),
        timeoutMs: Number(timeoutMs ?? UNSTORED_SETTINGS.timeoutMs),
        startedAt: Number(startedAt),
        backoff: decodeBackoff(backoff) ?? undefined,
      },
    };
  }

  /** After a script refused a token: whether the task was cancelled meanwhile, or is gone. */
  private async leaseEnded(op: string, id: string): Promise<QueueError> {
    const key = `${queueKeys(this.options.prefix, this.queueOf(op, id)).taskPrefix}${id}`;
    const status = await redisCall(op, () => this.redis.hget(key, 'status'));
    if (status === null) return notFound(op, id);
    return new LeaseEndedError(op, id, status === 'cancelled');
  }
}

interface LeaseFacts {
  type: string;
  attempt: number;
  maxRetries: number;
  timeoutMs: number;
  startedAt: number;
  backoff?: ClaimedTask['backoff'];
}

function notFound(op: string, id: string): QueueError {
  return new QueueError(QueueErrorCode.NotFound, op, `task ${id} does not exist (unknown id, or finished and expired)`);
}
