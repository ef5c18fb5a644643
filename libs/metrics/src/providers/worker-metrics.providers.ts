import { Provider } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { METRIC } from '../metric-names';

const byTask = ['task_type', 'queue'];
/** From 1 ms to 10 min: no-op tasks to long jobs. */
const secondsBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

/** Metrics a worker exports (its /metrics listener is on METRICS_PORT, default 9101). */
export const workerMetricProviders: Provider[] = [
  makeCounterProvider({ name: METRIC.processed, help: 'Tasks that succeeded', labelNames: byTask }),
  makeCounterProvider({ name: METRIC.failed, help: 'Tasks moved to the dead-letter queue', labelNames: byTask }),
  makeCounterProvider({ name: METRIC.retried, help: 'Failed runs scheduled for a retry', labelNames: byTask }),
  makeCounterProvider({
    name: METRIC.recovered,
    help: 'Tasks whose lease expired (worker died or stalled), put back or dead-lettered by this worker',
    labelNames: byTask,
  }),
  makeCounterProvider({
    name: METRIC.released,
    help: 'Tasks handed back to the queue at shutdown',
    labelNames: ['queue'],
  }),
  makeHistogramProvider({
    name: METRIC.runDuration,
    help: 'Handler run time, seconds',
    labelNames: [...byTask, 'outcome'],
    buckets: secondsBuckets,
  }),
  makeHistogramProvider({
    name: METRIC.waitDuration,
    help: 'Time from due (submit, or run_at) to first start, seconds',
    labelNames: byTask,
    buckets: secondsBuckets,
  }),
  makeCounterProvider({
    name: METRIC.scheduleRuns,
    help: 'Tasks enqueued by schedules (one per tick), by schedule name',
    labelNames: ['schedule'],
  }),
  makeHistogramProvider({
    name: METRIC.scheduleLag,
    help: "Time from a schedule's tick to the enqueue of its task (Redis clock), seconds",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
  }),
  makeGaugeProvider({
    name: METRIC.schedulesUnloadable,
    help: 'Schedules of a served queue whose spec this worker cannot load (e.g. a time zone its ICU lacks): left aside here, the others fire',
    labelNames: ['queue'],
  }),
  makeGaugeProvider({ name: METRIC.inFlight, help: 'Tasks this worker is running now' }),
  makeGaugeProvider({ name: METRIC.concurrency, help: 'Size of this worker pool (WORKER_CONCURRENCY)' }),
  // The write-behind to PostgreSQL (RESULTS_BACKEND=postgres).
  makeGaugeProvider({
    name: METRIC.resultsPending,
    help: 'Finished tasks waiting in Redis for their PostgreSQL write (the archive index), per queue',
    labelNames: ['queue'],
  }),
  makeGaugeProvider({
    name: METRIC.resultsPendingLimit,
    help: 'RESULTS_BUFFER_MAX: at this many pending tasks a queue gets no new claims until the backlog drains',
  }),
  makeGaugeProvider({
    name: METRIC.resultsClaimsPaused,
    help: '1 while this worker does not claim from the queue because its results backlog is at RESULTS_BUFFER_MAX',
    labelNames: ['queue'],
  }),
  makeCounterProvider({
    name: METRIC.resultsArchived,
    help: 'Task rows committed to PostgreSQL (status requeued: the row of a requeued task removed)',
    labelNames: ['queue', 'status'],
  }),
  makeHistogramProvider({
    name: METRIC.resultsWriteLag,
    help: 'From a task finishing to its row being committed (write-behind lag), seconds',
    labelNames: ['queue'],
    buckets: secondsBuckets,
  }),
  makeHistogramProvider({
    name: METRIC.resultsBatchSize,
    help: 'Tasks per committed PostgreSQL batch',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
  }),
  makeCounterProvider({
    name: METRIC.resultsStoreErrors,
    help: 'Failed result store operations (write: a batch not committed; retention; claim/settle: Redis)',
    labelNames: ['op'],
  }),
  makeCounterProvider({
    name: METRIC.resultsRetentionDeleted,
    help: 'Rows deleted from PostgreSQL by RESULTS_RETENTION_DAYS',
  }),
];
