/**
 * Every Prometheus metric this project exports, in one place. Dashboards
 * (grafana/), alert rules and the HPA in deploy/ refer to these names.
 * The first four are the seed's names and must not change.
 */
export const METRIC = {
  // api
  submitted: 'tasks_submitted_total',
  cancelled: 'tasks_cancelled_total',
  queuePaused: 'queue_paused',
  queueDepth: 'queue_depth',
  queueOldestAge: 'queue_oldest_task_age_seconds',
  queueUnserved: 'queue_unserved',
  deadLetterTrimmed: 'dead_letter_trimmed_total',
  purged: 'tasks_purged_total',
  httpRequestDuration: 'http_request_duration_seconds',
  scheduleNextRun: 'schedule_next_run_timestamp_seconds',
  schedulePeriod: 'schedule_period_seconds',
  // api, the HTTP worker protocol: {queue, outcome: claimed|succeeded|retried|dead|recovered}
  httpWorkerTasks: 'http_worker_tasks_total',
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
  // worker, RESULTS_BACKEND=postgres: the write-behind to PostgreSQL (libs/worker/src/results/)
  resultsPending: 'results_pending',
  resultsPendingLimit: 'results_pending_limit',
  resultsClaimsPaused: 'results_claims_paused',
  resultsArchived: 'results_archived_total',
  resultsWriteLag: 'results_write_lag_seconds',
  resultsBatchSize: 'results_batch_size',
  resultsStoreErrors: 'results_store_errors_total',
  resultsRetentionDeleted: 'results_retention_deleted_total',
  scheduleRuns: 'schedule_runs_total',
  scheduleLag: 'schedule_lag_seconds',
  schedulesUnloadable: 'schedules_unloadable',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
