#!/usr/bin/env node
// Writes the Grafana dashboards in grafana/dashboards/*.json from the panel list
// below. The JSON is generated because Grafana's format repeats ~40 lines of layout
// per panel; the queries are what matter and they are all here in one screen.
//
//   node grafana/generate.js          # (re)write the JSON files
//   node grafana/generate.js --check  # exit 1 when a committed JSON file is stale
//
// Conventions every query follows (scripts/ci/check-dashboards.js relies on them):
// - job="api" / job="worker" select the app (prometheus.yml and the k8s PodMonitors
//   set those job names);
// - queue_depth / queue_oldest_task_age_seconds are reported by every api replica
//   from the same Redis, so they are aggregated with max, never sum;
// - rates use $__rate_interval; the only other variables are $queue and $task_type.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const OUT_DIR = path.join(__dirname, 'dashboards');
const DS = { type: 'prometheus', uid: '${datasource}' };

const Q = 'queue=~"$queue"';
const T = 'task_type=~"$task_type"';
const W = `job="worker",${Q},${T}`;

/** rate() by task type of one worker/api counter. */
const rateBy = (metric, sel) => `sum by (task_type) (rate(${metric}{${sel}}[$__rate_interval]))`;
/**
 * Dead-lettered / (succeeded + dead-lettered). Each side falls back to 0 x the other,
 * so a task type with only successes shows 0 and one with only failures shows 1,
 * instead of dropping out of the division's label matching.
 */
function errorRatio(by) {
  const agg = by ? `sum by (${by})` : 'sum';
  const f = `${agg} (rate(tasks_failed_total{${W}}[$__rate_interval]))`;
  const s = `${agg} (rate(tasks_processed_total{${W}}[$__rate_interval]))`;
  const F = `(${f} or ${s} * 0)`;
  const S = `(${s} or ${f} * 0)`;
  return `${F} / (${S} + ${F})`;
}
const quantile = (q, metric, by = '') =>
  `histogram_quantile(${q}, sum by (le${by}) (rate(${metric}_bucket{${W}}[$__rate_interval])))`;

// ------------------------------------------------------------------ panels
// Each panel: title, type (timeseries|stat|bargauge), unit, w, h, targets [{expr, legend}].
const overview = {
  uid: 'taskq-overview',
  title: 'taskq / Overview',
  description: 'Throughput, queues, dead-letter queue, workers and task latencies.',
  file: 'taskq-overview.json',
  rows: [
    {
      title: 'Throughput',
      panels: [
        {
          title: 'Submitted / s by task type',
          unit: 'reqps',
          description: 'tasks_submitted_total (api): tasks accepted by POST /submit and /submit/batch.',
          targets: [{ expr: rateBy('tasks_submitted_total', `job="api",${Q},${T}`), legend: '{{task_type}}' }],
        },
        {
          title: 'Processed / s by task type',
          unit: 'reqps',
          description: 'tasks_processed_total (worker): tasks that ended succeeded.',
          targets: [{ expr: rateBy('tasks_processed_total', W), legend: '{{task_type}}' }],
        },
        {
          title: 'Failed (dead-lettered) / s by task type',
          unit: 'reqps',
          description: 'tasks_failed_total (worker): tasks moved to the dead-letter queue after their last attempt.',
          targets: [{ expr: rateBy('tasks_failed_total', W), legend: '{{task_type}}' }],
        },
        {
          title: 'Retried / s by task type',
          unit: 'reqps',
          description: 'tasks_retried_total (worker): failed attempts that were scheduled for another try.',
          targets: [{ expr: rateBy('tasks_retried_total', W), legend: '{{task_type}}' }],
        },
      ],
    },
    {
      title: 'Queues',
      panels: [
        {
          title: 'Queue depth by queue and state',
          unit: 'short',
          w: 12,
          description:
            'queue_depth (api) for the states that are still to run or running. Finished states are in "Tasks by state" and "Dead-letter queue size".',
          targets: [
            {
              expr: `max by (queue, state) (queue_depth{job="api",${Q},state=~"scheduled|queued|active|retrying"})`,
              legend: '{{queue}} {{state}}',
            },
          ],
        },
        {
          title: 'Oldest queued task age by queue',
          unit: 's',
          w: 12,
          description:
            'queue_oldest_task_age_seconds (api): how long the oldest ready task has waited. Alert TaskqOldestQueuedTaskTooOld fires above 5 min.',
          targets: [{ expr: `max by (queue) (queue_oldest_task_age_seconds{job="api",${Q}})`, legend: '{{queue}}' }],
        },
        {
          title: 'Tasks by state (now)',
          type: 'bargauge',
          unit: 'short',
          w: 12,
          description: 'queue_depth (api), every state, summed over the selected queues.',
          targets: [
            { expr: `sum by (state) (max by (queue, state) (queue_depth{job="api",${Q}}))`, legend: '{{state}}' },
          ],
        },
        {
          title: 'Dead-letter queue size',
          unit: 'short',
          w: 12,
          description:
            'queue_depth{state="dead"} (api). Inspect entries with GET /dlq. Alert TaskqDeadLetterGrowing fires when it grows.',
          targets: [{ expr: `max by (queue) (queue_depth{job="api",${Q},state="dead"})`, legend: '{{queue}}' }],
        },
      ],
    },
    {
      title: 'Workers',
      panels: [
        {
          title: 'Workers up',
          type: 'stat',
          unit: 'short',
          w: 4,
          description: 'Worker replicas answering scrapes: count(up{job="worker"} == 1).',
          targets: [{ expr: 'count(up{job="worker"} == 1)', legend: 'workers' }],
        },
        {
          title: 'Error ratio',
          type: 'stat',
          unit: 'percentunit',
          w: 4,
          description:
            'Dead-lettered / (succeeded + dead-lettered) over the range. Retries are not errors: a task that succeeds on a later attempt did its job. Same definition as alert TaskqHighErrorRatio.',
          targets: [
            {
              expr: errorRatio(''),
              legend: 'error ratio',
            },
          ],
        },
        {
          title: 'In flight vs concurrency',
          unit: 'short',
          w: 16,
          description:
            'tasks_in_flight against worker_concurrency, summed over all workers. In flight pinned at the limit with a growing queue means: add workers.',
          targets: [
            { expr: 'sum(tasks_in_flight{job="worker"})', legend: 'in flight' },
            { expr: 'sum(worker_concurrency{job="worker"})', legend: 'concurrency (slots)' },
          ],
        },
        {
          title: 'Error ratio by task type',
          unit: 'percentunit',
          w: 12,
          targets: [
            {
              expr: errorRatio('task_type'),
              legend: '{{task_type}}',
            },
          ],
        },
        {
          title: 'Workers up over time',
          unit: 'short',
          w: 12,
          targets: [{ expr: 'count(up{job="worker"} == 1)', legend: 'workers' }],
        },
        {
          title: 'HTTP workers: runs / s by queue and outcome',
          unit: 'ops',
          w: 24,
          description:
            'http_worker_tasks_total (api): runs of workers on the HTTP protocol (/work/*), by outcome: claimed, succeeded, retried, dead, recovered (their lease expired; the api put them back).',
          targets: [
            {
              expr: `sum by (queue, outcome) (rate(http_worker_tasks_total{job="api",${Q}}[$__rate_interval]))`,
              legend: '{{queue}} {{outcome}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Latency',
      panels: [
        {
          title: 'Run time percentiles',
          unit: 's',
          w: 12,
          description: 'task_run_duration_seconds (worker): handler run time of one attempt, every outcome.',
          targets: [
            { expr: quantile(0.5, 'task_run_duration_seconds'), legend: 'p50' },
            { expr: quantile(0.95, 'task_run_duration_seconds'), legend: 'p95' },
            { expr: quantile(0.99, 'task_run_duration_seconds'), legend: 'p99' },
          ],
        },
        {
          title: 'Wait time percentiles',
          unit: 's',
          w: 12,
          description: 'task_wait_duration_seconds (worker): from submit (or due time) to the start of the attempt.',
          targets: [
            { expr: quantile(0.5, 'task_wait_duration_seconds'), legend: 'p50' },
            { expr: quantile(0.95, 'task_wait_duration_seconds'), legend: 'p95' },
            { expr: quantile(0.99, 'task_wait_duration_seconds'), legend: 'p99' },
          ],
        },
        {
          title: 'Run time p95 by task type and outcome',
          unit: 's',
          w: 12,
          targets: [
            {
              expr: quantile(0.95, 'task_run_duration_seconds', ', task_type, outcome'),
              legend: '{{task_type}} {{outcome}}',
            },
          ],
        },
        {
          title: 'Wait time p95 by task type',
          unit: 's',
          w: 12,
          targets: [{ expr: quantile(0.95, 'task_wait_duration_seconds', ', task_type'), legend: '{{task_type}}' }],
        },
      ],
    },
    {
      title: 'Control',
      panels: [
        {
          title: 'Cancelled / s by task type',
          unit: 'reqps',
          w: 8,
          description:
            'tasks_cancelled_total (api): tasks cancelled with POST /tasks/{id}/cancel. Cancelled is final: not retried, not dead-lettered, not counted as failed.',
          targets: [{ expr: rateBy('tasks_cancelled_total', `job="api",${Q},${T}`), legend: '{{task_type}}' }],
        },
        {
          title: 'Paused queues',
          unit: 'short',
          w: 8,
          description:
            'queue_paused (api): 1 while a queue is paused (POST /queues/{name}/pause); workers claim nothing from it, submits are still accepted. Resume with POST /queues/{name}/resume.',
          targets: [{ expr: `max by (queue) (queue_paused{job="api",${Q}})`, legend: '{{queue}}' }],
        },
        {
          title: 'Unserved queues',
          unit: 'short',
          w: 8,
          description:
            "queue_unserved (api): 1 while queued tasks have waited longer than QUEUE_UNSERVED_AFTER_MS in a queue no worker served within it (alert TaskqQueueUnserved). Nothing is dropped: add the queue to a worker's WORKER_QUEUES.",
          targets: [{ expr: `max by (queue) (queue_unserved{job="api",${Q}})`, legend: '{{queue}}' }],
        },
      ],
    },
    {
      title: 'Schedules',
      panels: [
        {
          title: 'Schedule runs / s by schedule',
          unit: 'reqps',
          w: 8,
          description:
            'schedule_runs_total (worker): tasks enqueued by each schedule, one per tick (several when a catch_up schedule catches up).',
          targets: [
            {
              expr: 'sum by (schedule) (rate(schedule_runs_total{job="worker"}[$__rate_interval]))',
              legend: '{{schedule}}',
            },
          ],
        },
        {
          title: 'Schedule lag percentiles',
          unit: 's',
          w: 8,
          description:
            "schedule_lag_seconds (worker): from a schedule's tick to the enqueue of its task, on Redis' clock. Caught-up ticks after a downtime show as large lags.",
          targets: [0.5, 0.95, 0.99].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(schedule_lag_seconds_bucket{job="worker"}[$__rate_interval])))`,
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Schedules behind, in periods',
          unit: 'short',
          w: 8,
          description:
            'How far behind its tick each enabled schedule is, in its own periods, when the api was scraped (below 0: waiting for its next tick). Above 1 = it has not fired for 2 periods: alert TaskqScheduleNotFiring. Every api replica reports every schedule, hence max.',
          targets: [
            {
              expr: `max by (schedule, queue) (timestamp(schedule_next_run_timestamp_seconds{job="api",${Q}}) - schedule_next_run_timestamp_seconds{job="api",${Q}}) / max by (schedule, queue) (schedule_period_seconds{job="api",${Q}})`,
              legend: '{{schedule}} ({{queue}})',
            },
          ],
        },
      ],
    },
  ],
};

const APPS = 'job=~"api|worker"';
const runtime = {
  uid: 'taskq-runtime',
  title: 'taskq / Processes and HTTP',
  description: 'CPU, memory and event loop of every api and worker process; HTTP traffic of the api.',
  file: 'taskq-runtime.json',
  variables: [],
  rows: [
    {
      title: 'Processes',
      panels: [
        {
          title: 'CPU by process',
          unit: 'percentunit',
          w: 12,
          description: 'process_cpu_seconds_total: 1.0 = one full core.',
          targets: [
            {
              expr: `sum by (job, instance) (rate(process_cpu_seconds_total{${APPS}}[$__rate_interval]))`,
              legend: '{{job}} {{instance}}',
            },
          ],
        },
        {
          title: 'Resident memory by process',
          unit: 'bytes',
          w: 12,
          targets: [
            { expr: `max by (job, instance) (process_resident_memory_bytes{${APPS}})`, legend: '{{job}} {{instance}}' },
          ],
        },
        {
          title: 'Heap used by process',
          unit: 'bytes',
          w: 12,
          targets: [
            { expr: `sum by (job, instance) (nodejs_heap_size_used_bytes{${APPS}})`, legend: '{{job}} {{instance}}' },
          ],
        },
        {
          title: 'Event loop lag p99 by process',
          unit: 's',
          w: 12,
          description:
            'nodejs_eventloop_lag_p99_seconds: a busy or blocked event loop delays heartbeats and HTTP answers.',
          targets: [
            {
              expr: `max by (job, instance) (nodejs_eventloop_lag_p99_seconds{${APPS}})`,
              legend: '{{job}} {{instance}}',
            },
          ],
        },
      ],
    },
    {
      title: 'HTTP (api)',
      panels: [
        {
          title: 'Requests / s by route and status',
          unit: 'reqps',
          w: 12,
          targets: [
            {
              expr: 'sum by (method, route, status_code) (rate(http_request_duration_seconds_count{job="api"}[$__rate_interval]))',
              legend: '{{method}} {{route}} {{status_code}}',
            },
          ],
        },
        {
          title: 'Request duration p95 by route',
          unit: 's',
          w: 12,
          targets: [
            {
              expr: 'histogram_quantile(0.95, sum by (le, method, route) (rate(http_request_duration_seconds_bucket{job="api"}[$__rate_interval])))',
              legend: '{{method}} {{route}}',
            },
          ],
        },
      ],
    },
  ],
};

// The write-behind to PostgreSQL (RESULTS_BACKEND=postgres). Every worker reports the same per-queue
// backlog (read from Redis), so it is aggregated with max; the other series are per worker, summed.
const RW = `job="worker",${Q}`;
const results = {
  uid: 'taskq-results',
  title: 'taskq / Result store',
  description:
    'The write-behind of finished tasks to PostgreSQL (RESULTS_BACKEND=postgres): backlog in Redis, lag, batches, errors.',
  file: 'taskq-results.json',
  variables: [['queue', 'Queue', 'label_values(results_pending{job="worker"}, queue)']],
  rows: [
    {
      title: 'Backlog',
      panels: [
        {
          title: 'Finished tasks waiting for PostgreSQL',
          unit: 'short',
          w: 12,
          description:
            'results_pending: finished tasks still in Redis (the archive index), by queue, against RESULTS_BUFFER_MAX. At the limit the workers stop claiming from the queue (alerts TaskqResultsBacklogHigh, TaskqResultsClaimsPaused).',
          targets: [
            { expr: `max by (queue) (results_pending{${RW}})`, legend: '{{queue}}' },
            { expr: 'max(results_pending_limit{job="worker"})', legend: 'RESULTS_BUFFER_MAX' },
          ],
        },
        {
          title: 'Claims paused by back-pressure',
          unit: 'short',
          w: 12,
          description:
            'results_claims_paused: 1 while a queue gets no new claims because its backlog is at RESULTS_BUFFER_MAX.',
          targets: [{ expr: `max by (queue) (results_claims_paused{${RW}})`, legend: '{{queue}}' }],
        },
      ],
    },
    {
      title: 'Write-behind',
      panels: [
        {
          title: 'Write-behind lag percentiles',
          unit: 's',
          w: 12,
          description:
            'results_write_lag_seconds: from a task finishing to its row being committed in PostgreSQL. GET /tasks/{id} answers from Redis meanwhile.',
          targets: [0.5, 0.95, 0.99].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(results_write_lag_seconds_bucket{${RW}}[$__rate_interval])))`,
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Rows committed / s by status',
          unit: 'reqps',
          w: 12,
          description:
            'results_archived_total: task rows written (status requeued: the row of a dead task requeued, removed).',
          targets: [
            {
              expr: `sum by (status) (rate(results_archived_total{${RW}}[$__rate_interval]))`,
              legend: '{{status}}',
            },
          ],
        },
        {
          title: 'Batch size',
          unit: 'short',
          w: 12,
          description:
            'results_batch_size: tasks per committed transaction (RESULTS_BATCH_SIZE at most): average and p95.',
          targets: [
            {
              expr: 'sum(rate(results_batch_size_sum{job="worker"}[$__rate_interval])) / sum(rate(results_batch_size_count{job="worker"}[$__rate_interval]))',
              legend: 'average',
            },
            {
              expr: 'histogram_quantile(0.95, sum by (le) (rate(results_batch_size_bucket{job="worker"}[$__rate_interval])))',
              legend: 'p95',
            },
          ],
        },
        {
          title: 'Result store errors / s by operation',
          unit: 'reqps',
          w: 12,
          description:
            'results_store_errors_total: write (a batch not committed: PostgreSQL down, slow or refusing), claim and settle (Redis), retention. Alert TaskqResultStoreFailing.',
          targets: [
            {
              expr: 'sum by (op) (rate(results_store_errors_total{job="worker"}[$__rate_interval]))',
              legend: '{{op}}',
            },
          ],
        },
      ],
    },
  ],
};

// ------------------------------------------------------------------ JSON building
function variable(name, label, query) {
  return {
    name,
    label,
    type: 'query',
    datasource: DS,
    definition: query,
    query: { query, refId: `${name}-var` },
    refresh: 2, // on time range change: new queues / task types show up
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
    hide: 0,
    options: [],
  };
}

const datasourceVariable = {
  name: 'datasource',
  label: 'Data source',
  type: 'datasource',
  query: 'prometheus',
  current: { selected: false, text: 'Prometheus', value: 'prometheus' },
  hide: 0,
  options: [],
  refresh: 1,
};

function panelJson(p, id, gridPos) {
  const type = p.type || 'timeseries';
  const base = {
    id,
    type,
    title: p.title,
    description: p.description || '',
    datasource: DS,
    gridPos,
    fieldConfig: { defaults: { unit: p.unit || 'short' }, overrides: [] },
    targets: p.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      expr: t.expr,
      legendFormat: t.legend || '__auto',
      range: true,
      instant: false,
    })),
  };
  if (type === 'timeseries') {
    base.fieldConfig.defaults.custom = { lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: true };
    base.options = {
      legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    };
  } else if (type === 'stat') {
    base.options = {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      textMode: 'auto',
    };
  } else if (type === 'bargauge') {
    base.options = {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      orientation: 'horizontal',
      displayMode: 'basic',
      showUnfilled: true,
    };
  }
  return base;
}

function dashboardJson(d) {
  const panels = [];
  let id = 1;
  let y = 0;
  for (const row of d.rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = p.w || 6;
      const h = p.h || 8;
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push(panelJson(p, id++, { h, w, x, y }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  const variables = [datasourceVariable];
  if (d.variables === undefined) {
    variables.push(variable('queue', 'Queue', 'label_values(queue_depth{job="api"}, queue)'));
    variables.push(variable('task_type', 'Task type', 'label_values(tasks_submitted_total{job="api"}, task_type)'));
  } else {
    for (const [name, label, query] of d.variables) variables.push(variable(name, label, query));
  }
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['taskq'],
    timezone: 'browser',
    editable: false,
    graphTooltip: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    schemaVersion: 39,
    version: 1,
    links: [
      {
        title: 'taskq dashboards',
        type: 'dashboards',
        tags: ['taskq'],
        asDropdown: true,
        includeVars: false,
        keepTime: true,
      },
    ],
    annotations: { list: [] },
    templating: { list: variables },
    panels,
  };
}

function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const d of [overview, runtime, results]) {
    const file = path.join(OUT_DIR, d.file);
    const text = JSON.stringify(dashboardJson(d), null, 2) + '\n';
    if (check) {
      const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      if (current !== text) {
        console.error(`stale: ${path.relative(process.cwd(), file)} (run: node grafana/generate.js)`);
        stale++;
      }
    } else {
      fs.mkdirSync(OUT_DIR, { recursive: true });
      fs.writeFileSync(file, text);
      console.log(`wrote ${path.relative(process.cwd(), file)}`);
    }
  }
  if (stale) process.exit(1);
}

main();
