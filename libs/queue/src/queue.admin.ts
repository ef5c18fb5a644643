import { Inject, Injectable } from '@nestjs/common';
import {
  assertScriptInt,
  errorForScriptCode,
  QueueError,
  QueueErrorCode,
  redisCall,
  SCRIPT_CODE,
} from './errors/queue-error';
import { queueChannels, queueKeys, queueOfTaskId } from './keys/queue-keys';
import { ScheduleStore } from './schedules/schedule-store';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { finishedMode, QueueModuleOptions } from './queue.options';
import { QueueRegistry, REGISTER_ATTEMPTS } from './queue-registry';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { QueueControls, TaskStatus } from './task';

/** Operator actions on whole queues (pause, limits, forget) and on single tasks (cancel). */
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
    const [code, status] = await redisCall('cancel', () =>
      this.redis.taskqCancelTask(
        keys.scheduled,
        keys.queued,
        keys.retrying,
        keys.active,
        keys.cancelled,
        keys.archive,
        keys.throughput,
        keys.taskPrefix,
        id,
        this.options.resultTtlSeconds,
        queueChannels(this.options.prefix).cancel,
        finishedMode(this.options),
      ),
    );
    if (Number(code) === SCRIPT_CODE.WrongState) {
      throw new QueueError(
        QueueErrorCode.WrongState,
        'cancel',
        `task ${id} is ${status} already; only a scheduled, queued, retrying or active task can be cancelled`,
      );
    }
    const error = errorForScriptCode(Number(code), 'cancel', id);
    if (error) throw error;
    return status as TaskStatus;
  }

  /**
   * Workers stop claiming from the queue at their next claim; tasks in flight finish; submits go on.
   * NotFound for a queue that does not exist: controls never create one.
   */
  async pause(queue: string): Promise<void> {
    await this.control(queue, 'pause', ['pause']);
  }

  async resume(queue: string): Promise<void> {
    await this.control(queue, 'resume', ['resume']);
  }

  /**
   * Sets (or, with null, removes) the queue's rate limit and concurrency cap; the claim script
   * enforces them across every worker. Idle workers are woken to apply them. NotFound for a queue
   * that does not exist.
   */
  async setLimits(queue: string, limits: Pick<QueueControls, 'rate' | 'concurrency'>): Promise<void> {
    await this.control(queue, 'setLimits', [
      'limits',
      limits.rate ? assertScriptInt('setLimits', 'rate.max', limits.rate.max) : '',
      limits.rate ? assertScriptInt('setLimits', 'rate.perMs', limits.rate.perMs) : '',
      limits.concurrency !== null ? assertScriptInt('setLimits', 'concurrency', limits.concurrency) : '',
    ]);
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
    let reply: (string | number)[];
    try {
      reply = await redisCall('forgetQueue', () =>
        this.redis.taskqForgetQueue(
          keys.scheduled,
          keys.queued,
          keys.active,
          keys.retrying,
          keys.succeeded,
          keys.dead,
          keys.cancelled,
          keys.deadTrimmed,
          keys.seq,
          keys.wake,
          keys.recoverLock,
          keys.meta,
          keys.rateLog,
          keys.archive,
          keys.throughput,
          keys.schedules,
          keys.scheduleIndex,
          SCHEDULE_NAMES_SHOWN,
        ),
      );
    } catch (error) {
      // The script may not have run: the queue stays listed (the next forget decides).
      await this.registry.restore(queue).catch(() => undefined);
      throw error;
    }
    if (Number(reply[0]) === SCRIPT_CODE.WrongState) {
      await this.registry.restore(queue);
      throw new QueueError(QueueErrorCode.WrongState, 'forgetQueue', notEmpty(queue, reply));
    }
  }

  /**
   * Runs setQueueControls; a queue without its registration mark is marked if the registry lists it
   * (NotFound otherwise) and the call made again.
   */
  private async control(queue: string, op: string, args: (string | number)[]): Promise<void> {
    const keys = queueKeys(this.options.prefix, queue);
    for (let attempt = 1; ; attempt++) {
      const [code] = await redisCall(op, () =>
        this.redis.taskqSetQueueControls(keys.seq, keys.meta, keys.rateLog, keys.wake, ...args),
      );
      if (Number(code) !== SCRIPT_CODE.Unregistered) return;
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
function notEmpty(queue: string, reply: (string | number)[]): string {
  const [tasks, schedules] = [Number(reply[1]), Number(reply[2])];
  const names = reply.slice(3).map(String);
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
