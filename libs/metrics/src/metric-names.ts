/**
 * Every Prometheus metric this project exports, in one place. Dashboards
 * (grafana/), alert rules and the HPA in deploy/ refer to these names.
 * The first four are the seed's names and must not change.
 */
export const METRIC = {
  // api
  submitted: 'tasks_submitted_total',
  queueDepth: 'queue_depth',
  queueOldestAge: 'queue_oldest_task_age_seconds',
  deadLetterTrimmed: 'dead_letter_trimmed_total',
  httpRequestDuration: 'http_request_duration_seconds',
  scheduleNextRun: 'schedule_next_run_timestamp_seconds',
  schedulePeriod: 'schedule_period_seconds',
  // worker
  processed: 'tasks_processed_total',
  failed: 'tasks_failed_total',
  retried: 'tasks_retried_total',
  recovered: 'tasks_recovered_total',
  released: 'tasks_released_total',
  runDuration: 'task_run_duration_seconds',
  waitDuration: 'task_wait_duration_seconds',
  inFlight: 'tasks_in_flight',
  concurrency: 'worker_concurrency',
  scheduleRuns: 'schedule_runs_total',
  scheduleLag: 'schedule_lag_seconds',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Task states as reported by the queue_depth gauge's `state` label. */
export const DEPTH_STATES = ['scheduled', 'queued', 'active', 'retrying', 'succeeded', 'dead'] as const;
