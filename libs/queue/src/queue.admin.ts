import { Inject, Injectable } from '@nestjs/common';
import {
  assertScriptInt,
  errorForScriptCode,
  QueueError,
  QueueErrorCode,
  redisCall,
  refusedInState,
  SCRIPT_CODE,
  uniqueLockHeld,
} from './errors/queue-error';
import { queueChannels, queueKeys, queueOfTaskId } from './keys/queue-keys';
import { ScheduleStore } from './schedules/schedule-store';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { finishedMode, QueueModuleOptions } from './queue.options';
import { QueueRegistry, REGISTER_ATTEMPTS } from './queue-registry';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { forgetQueue, purgeTasks, queueStats, setQueueControls } from './scripts/queue-scripts';
import { cancelTask, restoreTask } from './scripts/task-scripts';
import { RestorableTask } from './archive';
import { runAgain } from './retry-task';
import { PurgeableStatus, QueueControls, TaskStatus } from './task';

/** Tasks one purge script takes at most: a few milliseconds of Redis time. */
const PURGE_BATCH = 1000;

/** Operator actions on whole queues (pause, limits, forget, purge) and on single tasks (cancel, retry). */
@Injectable()
export class QueueAdmin {
  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
    private readonly schedules: ScheduleStore,
    private readonly registry: QueueRegistry,
  ) {}

  /**
   * Cancels a task that has not finished: a scheduled, queued or retrying task never runs; an active
   * one loses its lease at once (it can write no outcome) and its worker aborts the run. Returns the
   * status it was cancelled from. NotFound; WrongState when it finished already.
   */
  async cancel(id: string): Promise<TaskStatus> {
    const queue = queueOfTaskId(id);
    if (queue === undefined) throw errorForScriptCode(SCRIPT_CODE.NotFound, 'cancel', id)!;
    const keys = queueKeys(this.options.prefix, queue);
    const {
      code,
      details: [status],
    } = await redisCall('cancel', () =>
      cancelTask.run(this.redis, keys, {
        taskPrefix: keys.taskPrefix,
        id,
        resultTtlSeconds: this.options.resultTtlSeconds,
        cancelChannel: queueChannels(this.options.prefix).cancel,
        finishedMode: finishedMode(this.options),
      }),
    );
    if (code === SCRIPT_CODE.WrongState) throw refusedInState('cancel', id, status!);
    const error = errorForScriptCode(code, 'cancel', id);
    if (error) throw error;
    return status as TaskStatus;
  }

  /**
   * Runs a finished task (succeeded, dead or cancelled) again under the same id: queued, attempts and
   * recoveries reset, its attempt history kept; a unique task takes its uniqueness lock again. NotFound
   * (not in Redis: with RESULTS_BACKEND=postgres it may be in the history, see restore); WrongState while
   * unfinished; Conflict naming the unfinished task that holds its lock now.
   */
  async retry(id: string): Promise<void> {
    await runAgain(this.redis, this.options, 'retry', id, 'finished');
  }

  /**
   * Brings a finished task that has left Redis back from its PostgreSQL record, queued to run again (a
   * retry, RESULTS_BACKEND=postgres). The caller holds the record's revision lock and gives a revision
   * newer than any written. Returns false, writing nothing, when the task is in Redis after all (a
   * concurrent retry brought it back): retry() decides then. NotFound when only a purged task's revision
   * is left of it; Conflict naming the unfinished task that holds its uniqueness lock now.
   */
  async restore(task: RestorableTask): Promise<boolean> {
    const keys = this.keysOf('retry', task.id);
    const optional = <T>(value: T | null) => (value === null ? '' : value);
    const call = () =>
      restoreTask.run(this.redis, keys, {
        taskPrefix: keys.taskPrefix,
        task: {
          id: task.id,
          rev: assertScriptInt('retry', 'rev', task.rev),
          type: task.type,
          payloadJson: task.payloadJson,
          priority: assertScriptInt('retry', 'priority', task.priority),
          maxRetries: assertScriptInt('retry', 'maxRetries', task.maxRetries),
          timeoutMs: assertScriptInt('retry', 'timeoutMs', task.timeoutMs),
          createdAt: assertScriptInt('retry', 'createdAt', task.createdAt),
          historyJson: task.historyJson,
          lastError: optional(task.lastError),
          scheduleId: optional(task.scheduleId),
          scheduledAt: optional(task.scheduledAt),
          uniqueLock: optional(task.uniqueLock),
          uniqueForMs: optional(task.uniqueForMs),
          backoff: optional(task.backoff),
        },
      });
    let {
      code,
      details: [detail],
    } = await redisCall('retry', call);
    // Its queue was forgotten since the task finished: list it again (held to MAX_QUEUES, as a submit is).
    for (let attempt = 1; code === SCRIPT_CODE.Unregistered && attempt <= REGISTER_ATTEMPTS; attempt++) {
      await this.registry.register([queueOfTaskId(task.id)!]);
      ({
        code,
        details: [detail],
      } = await redisCall('retry', call));
    }
    if (code === SCRIPT_CODE.Unregistered) {
      throw new QueueError(
        QueueErrorCode.Unavailable,
        'retry',
        `queue of ${task.id} was forgotten while this retry registered it again; try again`,
      );
    }
    if (code === SCRIPT_CODE.WrongState) return false;
    if (code === SCRIPT_CODE.UniqueConflict) throw uniqueLockHeld('retry', task.id, detail!);
    const error = errorForScriptCode(code, 'retry', task.id);
    if (error) throw error;
    return true;
  }

  /**
   * Purges the queue's tasks waiting in `state` (never an active one): they are gone, as if never
   * submitted, each freeing its uniqueness lock and waking its waiters. In batches of PURGE_BATCH, one
   * script each (atomic per batch, Redis never blocked for long), until the state is empty or as many
   * tasks went as it held when the purge began (tasks submitted meanwhile may stay). Returns how many.
   */
  async purge(queue: string, state: PurgeableStatus): Promise<number> {
    const keys = queueKeys(this.options.prefix, queue);
    const set = keys[state];
    const withReady = state === 'queued';
    const target = await redisCall('purgeTasks', async () =>
      withReady
        ? (await queueStats.run(this.redis, keys, { taskPrefix: keys.taskPrefix })).counts.queued
        : this.redis.zcard(set),
    );
    let total = 0;
    while (total < target) {
      const batch = Math.min(PURGE_BATCH, target - total);
      const purged = await redisCall('purgeTasks', () =>
        purgeTasks.run(this.redis, { ...keys, set }, { taskPrefix: keys.taskPrefix, limit: batch, withReady }),
      );
      total += purged;
      if (purged < batch) break;
    }
    return total;
  }

  /**
   * Workers stop claiming from the queue at their next claim; tasks in flight finish; submits go on.
   * NotFound for a queue that does not exist: controls never create one.
   */
  async pause(queue: string): Promise<void> {
    await this.control(queue, 'pause', { action: 'pause' });
  }

  async resume(queue: string): Promise<void> {
    await this.control(queue, 'resume', { action: 'resume' });
  }

  /**
   * Sets (or, with null, removes) the queue's rate limit and concurrency cap; the claim script
   * enforces them across every worker. Idle workers are woken to apply them. NotFound for a queue
   * that does not exist.
   */
  async setLimits(queue: string, limits: Pick<QueueControls, 'rate' | 'concurrency'>): Promise<void> {
    await this.control(queue, 'setLimits', {
      action: 'limits',
      rateMax: limits.rate ? assertScriptInt('setLimits', 'rate.max', limits.rate.max) : '',
      ratePerMs: limits.rate ? assertScriptInt('setLimits', 'rate.perMs', limits.rate.perMs) : '',
      concurrency: limits.concurrency !== null ? assertScriptInt('setLimits', 'concurrency', limits.concurrency) : '',
    });
  }

  /**
   * Forgets an empty queue: its bookkeeping keys go and it leaves the registry, so it no longer
   * counts against MAX_QUEUES or shows in listings. WrongState while any task of it remains
   * (including retained results and dead tasks) or any schedule enqueues into it. A worker that
   * serves it lists it again at its next registration; a submit to it creates it again.
   *
   * The name leaves the registry first, and comes back when the queue turns out not to be empty: a
   * submit racing this one either wrote before the check (refused here) or finds the queue's mark
   * gone and registers it anew (see QueueRegistry), so no task is left in an unlisted queue.
   */
  async forget(queue: string): Promise<void> {
    if (!(await this.registry.exists(queue))) {
      throw new QueueError(QueueErrorCode.NotFound, 'forgetQueue', `queue ${queue} does not exist`);
    }
    // Schedules of an earlier version must be in the index the script counts.
    await this.schedules.ensureIndexed();
    const keys = queueKeys(this.options.prefix, queue);
    await this.registry.remove(queue);
    let outcome: Awaited<ReturnType<typeof forgetQueue.run>>;
    try {
      outcome = await redisCall('forgetQueue', () =>
        forgetQueue.run(this.redis, keys, { scheduleNamesShown: SCHEDULE_NAMES_SHOWN, taskPrefix: keys.taskPrefix }),
      );
    } catch (error) {
      // The script may not have run: the queue stays listed (the next forget decides).
      await this.registry.restore(queue).catch(() => undefined);
      throw error;
    }
    if (!outcome.forgotten) {
      await this.registry.restore(queue);
      throw new QueueError(QueueErrorCode.WrongState, 'forgetQueue', notEmpty(queue, outcome));
    }
  }

  private keysOf(op: string, id: string) {
    const queue = queueOfTaskId(id);
    if (queue === undefined) throw errorForScriptCode(SCRIPT_CODE.NotFound, op, id)!;
    return queueKeys(this.options.prefix, queue);
  }

  /**
   * Runs setQueueControls; a queue without its registration mark is marked if the registry lists it
   * (NotFound otherwise) and the call made again.
   */
  private async control(
    queue: string,
    op: string,
    control: Parameters<typeof setQueueControls.run>[2]['control'],
  ): Promise<void> {
    const keys = queueKeys(this.options.prefix, queue);
    for (let attempt = 1; ; attempt++) {
      const [code] = await redisCall(op, () => setQueueControls.run(this.redis, keys, { control }));
      if (code !== SCRIPT_CODE.Unregistered) return;
      if (attempt >= REGISTER_ATTEMPTS) {
        throw new QueueError(
          QueueErrorCode.Unavailable,
          op,
          `queue ${queue} was forgotten ${attempt} times while this request applied; nothing was changed, try again`,
        );
      }
      await this.registry.registerExisting(queue, op);
    }
  }
}

/** Schedule names a refused forget names at most (the message counts the rest). */
const SCHEDULE_NAMES_SHOWN = 5;

/** Why forgetQueue refused: `{ -2, tasks left, schedules, up to SCHEDULE_NAMES_SHOWN names }`. */
function notEmpty(
  queue: string,
  { tasks, schedules, names }: { tasks: number; schedules: number; names: string[] },
): string {
  const parts: string[] = [];
  if (tasks > 0) {
    parts.push(`still holds ${tasks} task(s) (purge its dead-letter queue, wait for the rest to finish or expire)`);
  }
  if (schedules > 0) {
    const more = schedules - names.length;
    const listed = names.length ? `: ${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}` : '';
    parts.push(`is the target of ${schedules} schedule(s)${listed} (delete them first: DELETE /schedules/{name})`);
  }
  return `queue ${queue} ${parts.join(' and ')}; only an empty queue can be forgotten`;
}
