import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';
import {
  DueSchedule,
  planFire,
  QueueError,
  QueueErrorCode,
  QueueEvents,
  queueOfScheduleId,
  ScheduleRecord,
  ScheduleSpecError,
  ScheduleStore,
  scheduleTiming,
  ScheduleTiming,
} from '@app/queue';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { ServiceLoop } from '@app/queue';
import { ScheduleDeclarations } from './schedule-declarations';

/** Where the scheduler reads the time; tests inject a fixed or stepped one. */
export interface Clock {
  now(): number;
}
export const SCHEDULER_CLOCK = Symbol('taskq:scheduler-clock');
export const systemClock: Clock = { now: () => Date.now() };

/**
 * The longest the scheduler sleeps without looking: it wakes for the soonest tick, or at once when
 * a schedule of its queues is saved (pub/sub), and this bounds the wait should that message be lost
 * (a reconnect) or a queue's first schedule be created while it sleeps.
 */
export const SCHEDULER_MAX_WAIT_MS = 5000;
/** Due schedules read per round trip (a look reads on past the ones it must leave alone). */
const DUE_BATCH = 100;
/** A schedule whose stored spec cannot be read is left alone this long (and logged), not retried hot. */
const BROKEN_RETRY_MS = 60_000;
/** When a due schedule could not be fired for no known reason, look again after this long. */
const RETRY_MS = 1000;
/** Fire attempts per schedule per look: a lost compare-and-set (an edit in between) is retried at once. */
const ATTEMPTS_PER_LOOK = 3;

/**
 * Fires the schedules of the queues this worker serves. Every replica runs one; fireSchedule's
 * compare-and-set makes exactly one of them enqueue each tick. It sleeps until the soonest next run
 * among its queues (never polling hot), reads each due schedule, plans the fire in TypeScript
 * (planFire: the due ticks, skip or catch-up, the next tick) and fires it in one script call.
 *
 * Time is Redis' (as for every due time in the queue): the clock's reading corrected by the offset
 * the last fire reply showed. A tick is never fired early (the script refuses it), only late.
 */
@Injectable()
export class Scheduler {
  private readonly logger = new Logger(Scheduler.name);
  private readonly loop = new ServiceLoop('scheduler', () => this.pass(), this.logger, {
    failureMessage: (error) => `cannot reach Redis: ${error.message}; retrying`,
  });
  /** Redis' clock minus ours, from the latest reply that carried Redis' time. */
  private offsetMs = 0;
  private declared = false;
  private unsubscribe?: () => void;
  private listenWarned = false;
  private readonly timings = new Map<string, ScheduleTiming>();
  /** Schedule id → until when it is left alone (its spec failed to load). */
  private readonly broken = new Map<string, number>();
  /** Schedule id → when (our clock) to try again: Redis said its tick is not due yet. */
  private readonly notDueUntil = new Map<string, number>();
  private readonly served: Set<string>;

  constructor(
    private readonly store: ScheduleStore,
    private readonly events: QueueEvents,
    private readonly declarations: ScheduleDeclarations,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @Inject(SCHEDULER_CLOCK) private readonly clock: Clock,
    @InjectMetric(METRIC.scheduleRuns) private readonly runs: Counter<string>,
    @InjectMetric(METRIC.scheduleLag) private readonly lag: Histogram<string>,
    @InjectMetric(METRIC.schedulesUnloadable) private readonly unloadable: Gauge<string>,
  ) {
    this.served = new Set(options.queues.map((q) => q.name));
  }

  start(): void {
    this.loop.start();
    this.logger.log({ msg: `scheduler started for queues ${[...this.served].join(',')}` });
  }

  /** Stops firing; a fire in progress completes (it is one atomic script call). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.loop.stop();
  }

  /** Looks again now (a schedule of a served queue was saved). */
  wake(): void {
    this.loop.wake();
  }

  /** Our clock's reading on Redis' clock. */
  now(): number {
    return this.clock.now() + this.offsetMs;
  }

  /** One look: listening for changes, the declared schedules saved once, then runOnce; returns its wait. */
  private async pass(): Promise<number> {
    await this.listen();
    if (!this.declared) {
      await this.declarations.upsertAll();
      this.declared = true;
    }
    return this.runOnce();
  }

  /**
   * Fires every due schedule of the served queues once; returns how long to sleep: until the
   * soonest next run among them, at most SCHEDULER_MAX_WAIT_MS.
   */
  async runOnce(): Promise<number> {
    let wakeAt = this.clock.now() + SCHEDULER_MAX_WAIT_MS;
    for (const queue of this.served) {
      const attempts = new Map<string, number>();
      for (;;) {
        const { ready, lookAt } = await this.readyOf(queue, attempts);
        if (ready.length === 0) {
          wakeAt = Math.min(wakeAt, lookAt);
          break;
        }
        for (const schedule of ready) {
          attempts.set(schedule.id, (attempts.get(schedule.id) ?? 0) + 1);
          await this.fire(schedule);
        }
      }
    }
    this.forgetGoneBroken();
    for (const queue of this.served) this.unloadable.set({ queue }, this.brokenIn(queue));
    return Math.max(0, wakeAt - this.clock.now());
  }

  /**
   * The queue's due schedules this worker may fire now, reading past the ones it must leave alone (a
   * spec it cannot load, a tick Redis says is not due yet, attempts used up): those keep their past-due
   * score at the head of the ZSET, and a hundred of them must not hide the schedules behind them.
   * `lookAt`: when to look again (our clock), from what was read.
   */
  private async readyOf(
    queue: string,
    attempts: Map<string, number>,
  ): Promise<{ ready: DueSchedule[]; lookAt: number }> {
    let lookAt = Infinity;
    for (let offset = 0; ; offset += DUE_BATCH) {
      const due = await this.store.due(queue, DUE_BATCH, offset);
      const now = this.now();
      const ready = due.filter(
        (d) => d.nextRunAt <= now && (attempts.get(d.id) ?? 0) < ATTEMPTS_PER_LOOK && this.mayTry(d.id),
      );
      if (ready.length > 0) return { ready, lookAt };
      lookAt = Math.min(lookAt, this.nextLook(due, now));
      // The end of the ZSET, or past what is due: nothing further on is due either.
      if (due.length < DUE_BATCH || due[due.length - 1].nextRunAt > now) return { ready: [], lookAt };
    }
  }

  /** When (our clock) to look at this queue again. */
  private nextLook(due: DueSchedule[], now: number): number {
    let at = Infinity;
    for (const schedule of due) {
      const retry = this.notDueUntil.get(schedule.id) ?? this.broken.get(schedule.id);
      if (retry !== undefined) at = Math.min(at, retry);
      else if (schedule.nextRunAt > now) at = Math.min(at, schedule.nextRunAt - this.offsetMs);
      else at = Math.min(at, this.clock.now() + RETRY_MS);
    }
    return at;
  }

  private mayTry(id: string): boolean {
    const until = this.notDueUntil.get(id) ?? this.broken.get(id);
    if (until === undefined) return true;
    if (until > this.clock.now()) return false;
    this.notDueUntil.delete(id);
    this.broken.delete(id);
    return true;
  }

  private async fire(due: DueSchedule): Promise<void> {
    let record: ScheduleRecord;
    try {
      record = await this.store.get(due.id);
    } catch (error) {
      if (!(error instanceof QueueError && error.code === QueueErrorCode.NotFound)) throw error;
      // An entry without its schedule: the fire script drops it.
      await this.store.fire(due.id, { rev: 1, expected: due.nextRunAt, ticks: [], next: null });
      return;
    }
    if (!record.enabled || record.nextRunAt === null) return;
    const timing = this.timingOf(record);
    if (!timing) return;
    const state = { nextRunAt: record.nextRunAt, missed: record.missed, catchUpLimit: record.catchUpLimit };
    const plan = planFire(timing, state, this.now(), this.options.scheduleMisfireGraceMs);
    if (!plan) return;
    const result = await this.store.fire(record.id, {
      rev: record.rev,
      expected: record.nextRunAt,
      ticks: plan.ticks,
      next: plan.next,
    });
    const detail = { schedule: record.name, scheduleId: record.id, queue: record.task.queue };
    if (result.outcome === 'stale') return;
    this.offsetMs = result.now - this.clock.now();
    if (result.outcome === 'not_due') {
      this.notDueUntil.set(record.id, this.clock.now() + Math.max(1, record.nextRunAt - result.now));
      return;
    }
    if (plan.ticks.length > 0) {
      this.runs.inc({ schedule: record.name }, plan.ticks.length);
      for (const tick of plan.ticks) this.lag.observe(Math.max(0, result.now - tick) / 1000);
      this.logger.log({
        msg: `schedule fired: ${plan.ticks.length} task(s)`,
        ...detail,
        scheduledAt: plan.ticks.map((tick) => new Date(tick).toISOString()),
        taskIds: result.taskIds,
      });
    }
    if (plan.skipped) {
      this.logger.warn({
        msg: `schedule missed ticks (${record.missed}): ticks from ${new Date(plan.skipped[0]).toISOString()} to ${new Date(plan.skipped[1]).toISOString()} were skipped`,
        ...detail,
      });
    }
    if (plan.next === null) {
      this.logger.warn({ msg: 'schedule has no tick left; it stays but never fires again', ...detail });
    }
  }

  private timingOf(record: ScheduleRecord): ScheduleTiming | undefined {
    const key = JSON.stringify(record.spec);
    let timing = this.timings.get(key);
    if (timing) return timing;
    try {
      timing = scheduleTiming(record.spec, this.now());
    } catch (error) {
      this.broken.set(record.id, this.clock.now() + BROKEN_RETRY_MS);
      const tz = error instanceof ScheduleSpecError && error.field === 'tz';
      this.logger.error({
        msg:
          `schedule cannot be loaded by this worker (${(error as Error).message}); it is left aside here for ` +
          `${BROKEN_RETRY_MS / 1000} s (the queue's other schedules fire as usual, and workers that can load it fire it). ` +
          (tz
            ? `Run this worker on a Node with full ICU and current time zone data (the api accepted the zone), or change the zone: `
            : 'Fix it: ') +
          `PATCH /schedules/${record.id}`,
        schedule: record.name,
        scheduleId: record.id,
        queue: record.task.queue,
      });
      return undefined;
    }
    if (this.timings.size > 10_000) this.timings.clear();
    this.timings.set(key, timing);
    return timing;
  }

  /** Broken entries whose retry time passed unseen belong to schedules that are gone (a due one is retried). */
  private forgetGoneBroken(): void {
    const now = this.clock.now();
    for (const [id, until] of this.broken) if (until <= now) this.broken.delete(id);
  }

  private brokenIn(queue: string): number {
    let count = 0;
    for (const id of this.broken.keys()) if (queueOfScheduleId(id) === queue) count++;
    return count;
  }

  /** Subscribes to the schedules channel once; without it the scheduler still looks every SCHEDULER_MAX_WAIT_MS. */
  private async listen(): Promise<void> {
    if (this.unsubscribe) return;
    try {
      this.unsubscribe = await this.events.subscribe(this.events.channels.schedules, (queue) => {
        if (this.served.has(queue)) this.wake();
      });
    } catch (error) {
      if (!this.listenWarned) {
        this.logger.warn({
          msg: `cannot listen for schedule changes yet (${(error as Error).message}); looking every ${SCHEDULER_MAX_WAIT_MS} ms meanwhile`,
        });
      }
      this.listenWarned = true;
    }
  }
}
