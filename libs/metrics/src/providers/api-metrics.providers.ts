import { Provider } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { METRIC } from '../metric-names';
import { Counter, Gauge } from 'prom-client';
import { TASK_STATUSES, QueueStats } from '@app/queue';
import { QueueStatsCache } from '../queue-stats.cache';
import { ScheduleStat, ScheduleStatsCache } from '../schedule-stats.cache';

/**
 * A gauge `collect` hook that sets values from the cached queue stats on each scrape. The gauge is
 * reset first: a queue that is gone (forgotten) must lose its series, not repeat its last depth, pause
 * or `unserved` (an alert would fire for a queue that no longer exists). Without fresh stats (Redis
 * unreachable) the previous ones stand.
 */
function fromStats(set: (gauge: Gauge<string>, stats: QueueStats) => void) {
  return async function collect(this: Gauge<string>, cache: QueueStatsCache): Promise<void> {
    const all = await cache.get();
    if (!all) return;
    this.reset();
    for (const stats of all) set(this, stats);
  };
}

/**
 * A gauge `collect` hook over every enabled schedule. The gauge is reset first: a deleted or
 * disabled schedule's series goes instead of repeating its last value.
 */
function fromSchedules(value: (stat: ScheduleStat) => number) {
  return async function collect(this: Gauge<string>, cache: ScheduleStatsCache): Promise<void> {
    const stats = await cache.get();
    if (!stats) return;
    this.reset();
    for (const stat of stats) this.set({ schedule: stat.schedule, queue: stat.queue }, value(stat));
  };
}

/**
 * A counter's `collect` hook that mirrors a per-queue counter kept in Redis: it adds what the Redis
 * count grew by since the last scrape (all of it on the first), so every api replica reports the
 * same monotonic total. Should the Redis count go down (its key lost), the series restarts from
 * it, which Prometheus reads as a counter reset. A queue that is gone loses its series.
 */
function mirrorRedisCounter(read: (stats: QueueStats) => number) {
  const mirrored = new Map<string, number>();
  return async function collect(this: Counter<string>, cache: QueueStatsCache): Promise<void> {
    const all = await cache.get();
    if (!all) return;
    // A queue that is gone (forgotten) loses its series.
    const present = new Set(all.map((stats) => stats.queue));
    for (const queue of mirrored.keys()) {
      if (present.has(queue)) continue;
      this.remove({ queue });
      mirrored.delete(queue);
    }
    for (const stats of all) {
      const labels = { queue: stats.queue };
      const now = read(stats);
      const before = mirrored.get(stats.queue);
      if (before !== undefined && now < before) this.remove(labels);
      // inc(0) on first sight: the series exists from 0, so the first increase() sees the step.
      this.inc(labels, before !== undefined && now >= before ? now - before : now);
      mirrored.set(stats.queue, now);
    }
  };
}

/** Metrics the api exports (its /metrics listener is on METRICS_PORT, default 9100). */
export const apiMetricProviders: Provider[] = [
  QueueStatsCache,
  ScheduleStatsCache,
  makeCounterProvider({
    name: METRIC.submitted,
    help: 'Tasks accepted by POST /submit and /submit/batch',
    labelNames: ['task_type', 'queue'],
  }),
  makeCounterProvider({
    name: METRIC.cancelled,
    help: 'Tasks cancelled by POST /tasks/{id}/cancel (by this api process)',
    labelNames: ['task_type', 'queue'],
  }),
  makeCounterProvider({
    name: METRIC.httpWorkerTasks,
    help: 'Runs of HTTP workers through this api process, by outcome: claimed, succeeded, retried, dead (reported or decided here), recovered (lease expired and put back or dead-lettered)',
    labelNames: ['queue', 'outcome'],
  }),
  makeGaugeProvider({
    name: METRIC.queuePaused,
    help: '1 while a queue is paused (workers claim nothing from it), else 0',
    labelNames: ['queue'],
    inject: [QueueStatsCache],
    collect: fromStats((gauge, s) => gauge.set({ queue: s.queue }, s.controls.paused ? 1 : 0)),
  }),
  makeGaugeProvider({
    name: METRIC.queueDepth,
    help: 'Tasks per queue and state (dead = dead-letter queue size, succeeded and cancelled = retained ones)',
    labelNames: ['queue', 'state'],
    inject: [QueueStatsCache],
    collect: fromStats((gauge, s) => {
      for (const state of TASK_STATUSES) gauge.set({ queue: s.queue, state }, s.counts[state]);
    }),
  }),
  makeGaugeProvider({
    name: METRIC.queueOldestAge,
    help: 'Age of the oldest task waiting in the queued state, seconds (0 when none waits)',
    labelNames: ['queue'],
    inject: [QueueStatsCache],
    collect: fromStats((gauge, s) => gauge.set({ queue: s.queue }, (s.oldestQueuedAgeMs ?? 0) / 1000)),
  }),
  makeGaugeProvider({
    name: METRIC.queueUnserved,
    help: '1 while queued tasks have waited longer than QUEUE_UNSERVED_AFTER_MS in a queue no worker served within it, else 0',
    labelNames: ['queue'],
    inject: [QueueStatsCache],
    collect: fromStats((gauge, s) => gauge.set({ queue: s.queue }, s.unserved ? 1 : 0)),
  }),
  makeCounterProvider({
    name: METRIC.deadLetterTrimmed,
    help: 'Dead tasks dropped by DLQ_MAX_SIZE since the queue began (mirrors the count kept in Redis)',
    labelNames: ['queue'],
    inject: [QueueStatsCache],
    collect: mirrorRedisCounter((s) => s.deadTrimmed),
  }),
  makeCounterProvider({
    name: METRIC.purged,
    help: 'Waiting tasks purged by DELETE /queues/{name}/tasks since the queue began (mirrors the count kept in Redis)',
    labelNames: ['queue'],
    inject: [QueueStatsCache],
    collect: mirrorRedisCounter((s) => s.purged),
  }),
  makeGaugeProvider({
    name: METRIC.scheduleNextRun,
    help: 'When an enabled schedule fires next (epoch seconds); behind the scrape time = overdue',
    labelNames: ['schedule', 'queue'],
    inject: [ScheduleStatsCache],
    collect: fromSchedules((s) => s.nextRunAt / 1000),
  }),
  makeGaugeProvider({
    name: METRIC.schedulePeriod,
    help: "Seconds from an enabled schedule's next tick to the tick after it",
    labelNames: ['schedule', 'queue'],
    inject: [ScheduleStatsCache],
    collect: fromSchedules((s) => s.periodMs / 1000),
  }),
  makeHistogramProvider({
    name: METRIC.httpRequestDuration,
    help: 'HTTP request duration of the api, seconds',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
];
