import { Inject, Injectable } from '@nestjs/common';
import type { Cluster } from 'ioredis';
import { createHash } from 'node:crypto';
import {
  assertScriptInt,
  QueueError,
  QueueErrorCode,
  redisCall,
  SCRIPT_CODE,
  wrapRedisError,
} from './errors/queue-error';
import { encodeBackoff } from './backoff-field';
import { queueKeys, taskIdPrefix, uniqueLockSuffix } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { QueueRegistry, REGISTER_ATTEMPTS } from './queue-registry';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { EnqueueRow, enqueueTasks } from './scripts/task-scripts';
import { EnqueuedTask, NewTask } from './task';
import { TickBatch } from './tick-batch';

/**
 * How long this process trusts that a queue is registered, and skips registering it before a write.
 * The enqueue script checks the queue's registration mark anyway: a queue forgotten meanwhile is
 * refused and registered again at once.
 */
const REGISTRY_TRUST_MS = 10_000;
/** How long an idempotency key is remembered unless IDEMPOTENCY_TTL_SECONDS says otherwise. */
const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

/** One queue's part of an enqueue call: its script arguments and the tasks they carry. */
interface QueuePart {
  rows: EnqueueRow[];
  /** Indexes into the call's result list. */
  indexes: number[];
}

interface PendingWrite {
  byQueue: Map<string, QueuePart>;
  /** The call's answer, filled in from the script's replies (ids of replayed tasks). */
  result: EnqueuedTask[];
  tasks: readonly NewTask[];
  /** Resolves with the queues the script refused as unregistered (nothing written to them). */
  resolve: (unregistered: string[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Adds tasks. One atomic script call per queue touched by a call; a batch is one round trip.
 * Calls made in the same tick (concurrent HTTP requests) share one pipeline, so one socket write and
 * one round trip carry them all, while each call keeps its own script calls and its own outcome.
 */
@Injectable()
export class QueueProducer {
  /** Queue → until when this process trusts it is registered. */
  private readonly registered = new Map<string, number>();
  /** Enqueue calls of this tick, sent in one pipeline. */
  private readonly writes = new TickBatch<PendingWrite>((writes) =>
    this.flush(writes).catch((error: unknown) => writes.forEach((write) => write.reject(error))),
  );

  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
    private readonly registry: QueueRegistry,
  ) {}

  async enqueue(task: NewTask): Promise<EnqueuedTask> {
    const [one] = await this.enqueueMany([task]);
    return one;
  }

  /**
   * Each queue's tasks are written by one atomic script: all or none of them. A call spanning
   * several queues is atomic per queue only; when Redis fails part-way, the QueueError's `written`
   * lists the ids that were certainly stored. A queue new to the registry counts against MAX_QUEUES
   * (LimitReached, nothing written). An idempotency key seen before with the same task gives back the
   * original (`replayed`); with another task, or a unique task still unfinished, it is a Conflict.
   */
  async enqueueMany(tasks: NewTask[]): Promise<EnqueuedTask[]> {
    const byQueue = new Map<string, QueuePart>();
    const now = Date.now();
    const result: EnqueuedTask[] = tasks.map((task, index) => {
      let part = byQueue.get(task.queue);
      if (!part) byQueue.set(task.queue, (part = { rows: [], indexes: [] }));
      part.indexes.push(index);
      const payloadJson = JSON.stringify(task.payload ?? null);
      const priority = assertScriptInt('enqueue', 'priority', task.priority);
      const maxRetries = assertScriptInt('enqueue', 'maxRetries', task.maxRetries);
      const timeoutMs = assertScriptInt('enqueue', 'timeoutMs', task.timeoutMs);
      const delay = encodeDelay(task);
      const backoff = task.backoff ? encodeBackoff(task.backoff) : '';
      const idempotent = task.idempotencyKey !== undefined && task.idempotencyKey !== '';
      // A backoff takes part in the digest only when given, so earlier records keep matching.
      const body = [task.type, task.queue, payloadJson, priority, maxRetries, timeoutMs, delay];
      part.rows.push({
        type: task.type,
        payloadJson,
        priority,
        maxRetries,
        timeoutMs,
        delay,
        idempotencyKey: idempotent ? task.idempotencyKey! : '',
        digest: idempotent ? digest(...body, ...(backoff ? [backoff] : [])) : '',
        uniqueLock: uniqueLock(task, payloadJson),
        uniqueForMs: task.uniqueForMs ? assertScriptInt('enqueue', 'uniqueForMs', task.uniqueForMs) : 0,
        backoff,
      });
      const scheduled = (task.delayMs ?? 0) > 0 || (task.runAt !== undefined && task.runAt > now);
      // The script makes the id (taskIdPrefix + time + sequence); applyReply fills it in.
      return { id: '', queue: task.queue, status: scheduled ? 'scheduled' : 'queued', replayed: false };
    });

    await this.register([...byQueue.keys()]);
    // A queue forgotten since this process registered it is refused by the script (nothing written
    // to it): register it again and write its part again.
    let pending = byQueue;
    const written: string[] = [];
    for (let attempt = 1; ; attempt++) {
      let unregistered: string[];
      try {
        unregistered = await redisCall(
          'enqueue',
          () =>
            new Promise<string[]>((resolve, reject) =>
              this.writes.add({ byQueue: pending, result, tasks, resolve, reject }),
            ),
        );
      } catch (error) {
        throw written.length ? partialFailure(error, [...written, ...writtenOf(error)], byQueue.size) : error;
      }
      const refused = new Set(unregistered);
      for (const [queue, part] of pending) {
        if (!refused.has(queue)) written.push(...part.indexes.map((index) => result[index].id));
      }
      if (!refused.size) return result;
      if (attempt >= REGISTER_ATTEMPTS) {
        throw partialFailure(
          new QueueError(
            QueueErrorCode.Unavailable,
            'enqueue',
            `queue ${[...refused].join(', ')} was forgotten ${attempt} times while this submit registered it again; nothing was written to it, try again`,
          ),
          written,
          byQueue.size,
        );
      }
      try {
        await this.register([...refused], true);
      } catch (error) {
        throw written.length ? partialFailure(error, written, byQueue.size) : error;
      }
      pending = new Map([...refused].map((queue) => [queue, byQueue.get(queue)!]));
    }
  }

  /** Registers the queues this process does not trust to be registered (all of them with `force`). */
  private async register(queues: string[], force = false): Promise<void> {
    const now = Date.now();
    const stale = force ? queues : queues.filter((queue) => !((this.registered.get(queue) ?? 0) > now));
    if (!stale.length) return;
    await this.registry.register(stale);
    for (const queue of stale) this.registered.set(queue, now + REGISTRY_TRUST_MS);
  }

  /**
   * Sends the calls of one tick in one pipeline (on a Redis Cluster, one per queue: a pipeline may
   * only hold keys served by one node) and settles each call from its own replies. With
   * REDIS_WAIT_REPLICAS, each pipeline ends with a WAIT, so an accepted task is on that many replicas.
   */
  private async flush(writes: PendingWrite[]): Promise<void> {
    const perQueue = this.redis.isCluster;
    const pipelines = new Map<string, ReturnType<QueueRedis['pipeline']>>();
    const pipelineFor = (queue: string) => {
      const group = perQueue ? queue : '';
      let pipeline = pipelines.get(group);
      if (!pipeline) pipelines.set(group, (pipeline = this.redis.pipeline()));
      return pipeline;
    };
    /** Per write and queue, where its reply is (pipeline group, index) and the call's arguments. */
    const slots = writes.map(({ byQueue }) =>
      [...byQueue].map(([queue, part]) => {
        const keys = queueKeys(this.options.prefix, queue);
        const pipeline = pipelineFor(queue);
        const args = {
          taskPrefix: keys.taskPrefix,
          idemPrefix: keys.idemPrefix,
          uniquePrefix: keys.uniquePrefix,
          idempotencyTtlSeconds: this.options.idempotencyTtlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS,
          idPrefix: taskIdPrefix(queue),
          tasks: part.rows,
        };
        enqueueTasks.queue(pipeline, keys, args);
        return { group: perQueue ? queue : '', index: pipeline.length - 1, args };
      }),
    );
    const waitReplicas = this.options.waitReplicas ?? 0;
    const replies = new Map<string, [Error | null, unknown][]>();
    const replicated = new Map<string, boolean>();
    await Promise.all(
      [...pipelines].map(async ([group, pipeline]) => {
        if (waitReplicas > 0) pipeline.wait(waitReplicas, this.options.waitTimeoutMs ?? 500);
        const result = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
        // ioredis follows MOVED/ASK for a cluster pipeline only when its other commands are read-only,
        // so not for one ending in WAIT (e.g. a queue's master was failed over and its old address
        // now answers as a replica): the node refused the script, nothing ran, and the call fails as
        // Unavailable (503). Learn the new slot owners now, so the next call goes to the right master.
        if (perQueue && result.some(([error]) => error && /^(MOVED|ASK) /.test(error.message))) {
          (this.redis as unknown as Cluster).refreshSlotsCache();
        }
        replies.set(group, result);
        if (waitReplicas > 0) replicated.set(group, Number(result[result.length - 1]?.[1] ?? 0) >= waitReplicas);
      }),
    );
    writes.forEach((write, i) => {
      const written: string[] = [];
      const unregistered: string[] = [];
      let failure: unknown;
      [...write.byQueue].forEach(([queue, part], j) => {
        const { group, index, args } = slots[i][j];
        const [error, reply] = replies.get(group)?.[index] ?? [new Error('no reply from Redis'), null];
        if (error) {
          failure ??= error;
          return;
        }
        const enqueued = enqueueTasks.decode(reply, args);
        if (enqueued.unregistered) {
          unregistered.push(queue);
          return;
        }
        const conflict = applyReply(enqueued.outcomes, part, write.result, write.tasks);
        if (conflict) failure ??= conflict;
        else if (waitReplicas > 0 && !replicated.get(group)) failure ??= notReplicated(waitReplicas);
        else written.push(...part.indexes.map((k) => write.result[k].id));
      });
      if (failure === undefined) write.resolve(unregistered);
      else write.reject(partialFailure(failure, written, write.byQueue.size));
    });
  }
}

/**
 * The name of a unique task's lock ('' for none): its caller's key, else the digest of its type and
 * payload.
 */
function uniqueLock(task: NewTask, payloadJson: string): string {
  if (!task.uniqueForMs) {
    if (task.uniqueKey === undefined) return '';
    throw new QueueError(
      QueueErrorCode.BadArgument,
      'enqueue',
      'uniqueKey needs uniqueForMs: how long the key is held',
    );
  }
  return uniqueLockSuffix(
    task.uniqueKey !== undefined ? { callerKey: task.uniqueKey } : { digest: digest(task.type, payloadJson) },
  );
}

/**
 * Reads one queue's enqueue outcomes into the call's result: each task's id (the one the script made,
 * or the original's for a replayed task). Returns the Conflict error when the script refused the
 * part; when the task in the way is an earlier one of the same call (never written), it says which.
 */
function applyReply(
  outcomes: { code: number; id: string }[],
  part: QueuePart,
  result: EnqueuedTask[],
  tasks: readonly NewTask[],
): QueueError | undefined {
  for (let j = 0; j < part.indexes.length; j++) {
    const { code, id } = outcomes[j];
    const index = part.indexes[j];
    if (code === SCRIPT_CODE.IdempotencyConflict || code === SCRIPT_CODE.UniqueConflict) {
      const idempotency = code === SCRIPT_CODE.IdempotencyConflict;
      // A task of this call that would have been written under that id (ids made for this call are new).
      const earlierJ = outcomes.findIndex((o, k) => k < j && o.code === 1 && o.id === id);
      const earlier = earlierJ >= 0 ? part.indexes[earlierJ] : undefined;
      if (earlier !== undefined) {
        const what = idempotency
          ? `tasks ${earlier} and ${index} of this call have the same idempotency key but differ; nothing was written: give them different keys`
          : `tasks ${earlier} and ${index} of this call are equal unique tasks (${tasks[index].uniqueKey !== undefined ? 'the same unique key' : 'the same type and payload'}); one by one the second would be refused while the first is unfinished, so nothing was written: send one of them`;
        return new QueueError(QueueErrorCode.Conflict, 'enqueue', what, {
          sameCall: { index, earlier, kind: idempotency ? 'idempotency' : 'unique' },
        });
      }
      const what = idempotency
        ? `the idempotency key was used for another task (${id}) within IDEMPOTENCY_TTL_SECONDS; use a new key for a new task`
        : tasks[index].uniqueKey !== undefined
          ? `a task with the same unique key (${id}) is not finished yet (unique_key, unique_for_ms)`
          : `a task of the same type and payload (${id}) is not finished yet (unique_for_ms)`;
      return new QueueError(QueueErrorCode.Conflict, 'enqueue', what, { existingId: id });
    }
    result[index].id = id;
    if (code === 2) result[index].replayed = true;
  }
  return undefined;
}

/** The ids a failed call reports as written, if any. */
function writtenOf(error: unknown): string[] {
  return (error as { written?: string[] } | null)?.written ?? [];
}

/** A short digest of the values, for idempotency and uniqueness keys. */
function digest(...values: (string | number)[]): string {
  return createHash('sha256').update(values.join('\n')).digest('base64url').slice(0, 32);
}

/** WAIT came back with fewer replicas than asked: stored on the master, but a failover may lose it. */
function notReplicated(replicas: number): QueueError {
  return new QueueError(
    QueueErrorCode.Unavailable,
    'enqueue',
    `the task was stored on the Redis master but not confirmed by ${replicas} replica(s) within REDIS_WAIT_TIMEOUT_MS`,
    { maybeApplied: true },
  );
}

/**
 * The error for a call whose queues were not all written. It names the ids that were (`written`),
 * also on an unexpected error (a bug), so the caller can report or log exactly what was stored.
 */
function partialFailure(error: unknown, written: string[], queues: number): unknown {
  const wrapped = wrapRedisError('enqueue', error);
  if (queues === 1 || !written.length) return wrapped;
  if (!(wrapped instanceof QueueError)) return Object.assign(wrapped, { written });
  return new QueueError(wrapped.code, wrapped.op, wrapped.message, {
    cause: error,
    maybeApplied: wrapped.maybeApplied,
    written,
    existingId: wrapped.existingId,
    sameCall: wrapped.sameCall,
  });
}

/** The script's delay argument: ms from now (> 0), 0 for now, or -epochMs for an absolute run_at. */
function encodeDelay(task: NewTask): number {
  if (task.runAt !== undefined) return -Math.max(1, assertScriptInt('enqueue', 'runAt', Math.floor(task.runAt)));
  return Math.max(0, assertScriptInt('enqueue', 'delayMs', Math.floor(task.delayMs ?? 0)));
}
