#!/usr/bin/env node
// Proves that every Grafana panel query returns data from a real Prometheus that
// scrapes the real, built apps after a short workload.
//
//   node scripts/ci/check-dashboards.js [--report FILE] [--snapshot FILE] [--image-layout] [--keep] [--redis-cluster]
//
// Needs: dist/apps/{api,worker}/main.js (npm run build), redis-server and
// prometheus on PATH (scripts/ci/check-dashboards.sh installs them).
//
// It starts, each on a free loopback port and with a temp dir of its own:
// redis-server, the api, one worker and Prometheus (scrape_interval 1s, jobs "api"
// and "worker", as in prometheus.yml). The apps run with the PostgreSQL result store
// (RESULTS_BACKEND=postgres) on a database it creates on TEST_POSTGRES_URL's server
// (default postgres://postgres@127.0.0.1:5432/postgres), migrated with the same
// command the image runs, and drops after. It submits tasks that succeed, that fail once
// and are retried, and that end in the dead-letter queue, runs a schedule that
// fires every second, waits until all are
// finished and scraped, then evaluates every panel target of every
// grafana/dashboards/*.json through /api/v1/query, and the dashboards' variable
// queries through /api/v1/label. Any ERROR or EMPTY result fails the run.
// Every process it started is stopped on exit, also on failure or Ctrl-C.
//
// --image-layout runs the apps the way the Dockerfile's runtime stage does (CI has
// no Docker engine to build the image): from a directory holding only package*.json,
// `npm ci --omit=dev --ignore-scripts`, dist/ and healthcheck.js, started from there,
// and checks the HEALTHCHECK script against both apps. A runtime dependency left in
// devDependencies then fails here instead of in a container.
//
// --redis-cluster runs the same check with the apps on a Redis Cluster (3 masters + 3 replicas, from
// scripts/redis-topologies.js) instead of one redis-server: the dashboards must not care.
//
// --snapshot FILE saves every panel's series over the workload (query_range, 1 s
// steps) as JSON, for scripts/ci/render-dashboards.js to draw the screenshots in
// docs/deploy/img/.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const DASHBOARD_DIR = path.join(ROOT, 'grafana', 'dashboards');
const args = process.argv.slice(2);
const REPORT = args.includes('--report') ? args[args.indexOf('--report') + 1] : null;
const KEEP = args.includes('--keep'); // keep the temp dir (logs) for debugging
const IMAGE_LAYOUT = args.includes('--image-layout');
const REDIS_CLUSTER = args.includes('--redis-cluster');
/** The Redis Cluster of --redis-cluster, stopped with everything else. */
let cluster;
const SNAPSHOT = args.includes('--snapshot') ? args[args.indexOf('--snapshot') + 1] : null;

const children = [];
let tmp;

// ------------------------------------------------------------------ helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log('[check-dashboards]', ...a);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function start(name, cmd, argv, env = {}, cwd = ROOT) {
  const out = fs.openSync(path.join(tmp, `${name}.log`), 'a');
  // detached: own process group, so stop() also reaches anything it forks.
  const child = spawn(cmd, argv, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  child.name = name;
  child.exited = false;
  child.on('exit', (code, signal) => {
    child.exited = true;
    child.exitInfo = signal || code;
  });
  children.push(child);
  return child;
}

function tail(name, lines = 30) {
  try {
    const text = fs
      .readFileSync(path.join(tmp, `${name}.log`), 'utf8')
      .trimEnd()
      .split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stopAll() {
  for (const child of children.slice().reverse()) {
    if (child.exited) continue;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 20000;
  while (children.some((c) => !c.exited) && Date.now() < deadline) await sleep(100);
  for (const child of children) {
    if (child.exited) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

async function waitFor(what, fn, { timeoutMs = 60000, intervalMs = 250, watch = [] } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    for (const c of watch) {
      if (c.exited) throw new Error(`${c.name} exited (${c.exitInfo}) while waiting for ${what}:\n${tail(c.name)}`);
    }
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function run(name, cmd, argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${name} exited ${code}:\n${out.slice(-3000)}`)),
    );
  });
}

/** A directory laid out like the image's /app (see Dockerfile, runtime stage). */
async function imageLayout() {
  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, f), path.join(app, f));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'deploy', 'docker', 'healthcheck.js'), path.join(app, 'healthcheck.js'));
  fs.cpSync(path.join(ROOT, 'migrations'), path.join(app, 'migrations'), { recursive: true });
  log('image layout: npm ci --omit=dev --ignore-scripts');
  await run(
    'npm ci --omit=dev',
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      cwd: app,
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  return app;
}

async function httpOk(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}

async function postJson(url, body, method = 'POST') {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} -> ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** The task id in a submit answer; tolerant of the exact field name. */
function idOf(answer) {
  const id = answer && (answer.id ?? answer.task_id ?? answer.taskId);
  if (!id) throw new Error(`no task id in submit answer: ${JSON.stringify(answer)}`);
  return id;
}

/** The ids in a batch answer ({task_ids: [...]}; tolerant of other list shapes). */
function idsOf(answer) {
  const list = Array.isArray(answer) ? answer : answer.task_ids || answer.tasks || answer.results || answer.ids;
  if (!Array.isArray(list)) throw new Error(`no task list in batch answer: ${JSON.stringify(answer).slice(0, 300)}`);
  return list.map((x) => (typeof x === 'string' ? x : idOf(x)));
}

function stateOf(task) {
  return task && (task.state ?? task.status);
}

// ------------------------------------------------------------------ dashboards
function loadTargets() {
  const files = fs
    .readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (!files.length) throw new Error(`no dashboards in ${DASHBOARD_DIR}`);
  const panels = [];
  const variables = [];
  for (const file of files) {
    const dash = JSON.parse(fs.readFileSync(path.join(DASHBOARD_DIR, file), 'utf8'));
    const walk = (list) => {
      for (const p of list || []) {
        if (p.type === 'row') {
          walk(p.panels); // collapsed rows keep their panels inside
          continue;
        }
        const exprs = (p.targets || [])
          .filter((t) => !t.hide && t.expr)
          .map((t) => ({ refId: t.refId, expr: t.expr, legend: t.legendFormat }));
        if (!exprs.length) throw new Error(`${file}: panel "${p.title}" has no PromQL target`);
        panels.push({
          dashboard: dash.title,
          uid: dash.uid,
          file,
          title: p.title,
          exprs,
          type: p.type,
          gridPos: p.gridPos,
          unit: p.fieldConfig?.defaults?.unit,
        });
      }
    };
    walk(dash.panels);
    for (const v of (dash.templating && dash.templating.list) || []) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : v.query && v.query.query;
      variables.push({ dashboard: dash.title, name: v.name, query: q });
    }
  }
  return { files, panels, variables };
}

/** Grafana variables -> concrete values, as Grafana would send them with "All" selected. */
function substitute(expr, rateWindow) {
  const out = expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, rateWindow)
    .replace(/\$__interval|\$\{__interval\}/g, rateWindow)
    .replace(/\$__range|\$\{__range\}/g, rateWindow)
    .replace(/\$\{?queue\}?/g, '.*')
    .replace(/\$\{?task_type\}?/g, '.*');
  const left = out.match(/\$\{?\w+/);
  if (left) throw new Error(`unknown Grafana variable ${left[0]} in: ${expr}`);
  return out;
}

async function promQuery(base, expr) {
  const url = `${base}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
  const body = await res.json().catch(() => ({ status: 'error', error: `HTTP ${res.status}` }));
  if (body.status !== 'success') return { error: body.error || `HTTP ${res.status}` };
  const { resultType, result } = body.data;
  const series = resultType === 'vector' || resultType === 'matrix' ? result : [result];
  return { series };
}

// ------------------------------------------------------------------ postgres
const POSTGRES_URL = process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
let database;

async function adminQuery(sql) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A database of this run on the test server; its URL. Dropped by finish(). */
async function createDatabase() {
  database = `taskq_dashcheck_${process.pid}_${Date.now().toString(36)}`;
  await adminQuery(`CREATE DATABASE ${database}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

// ------------------------------------------------------------------ main
async function main() {
  for (const f of ['dist/apps/api/main.js', 'dist/apps/worker/main.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run "npm ci && npm run build" first`);
  }
  const { files, panels, variables } = loadTargets();
  log(`${files.length} dashboards, ${panels.length} panels, ${panels.reduce((n, p) => n + p.exprs.length, 0)} queries`);

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'taskq-dashcheck-'));
  const [redisPort, apiPort, apiMetricsPort, workerMetricsPort, promPort] = await Promise.all(
    Array.from({ length: 5 }, freePort),
  );
  log(
    `temp dir ${tmp}; ports redis ${redisPort}, api ${apiPort}/${apiMetricsPort}, worker ${workerMetricsPort}, prometheus ${promPort}`,
  );

  // -- redis: in-memory, on its own port(s), so the machine's Redis is never touched
  let redisEnv;
  if (REDIS_CLUSTER) {
    cluster = await require('../redis-topologies').startCluster({ masters: 3, replicas: 1 });
    redisEnv = cluster.appEnv;
    log(`Redis Cluster ${cluster.nodesList}`);
  } else {
    fs.mkdirSync(path.join(tmp, 'redis'));
    const redis = start('redis', 'redis-server', [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      path.join(tmp, 'redis'),
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ]);
    await waitFor(
      'redis',
      () =>
        new Promise((resolve) => {
          const s = net.connect(redisPort, '127.0.0.1', () => {
            s.end();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      { watch: [redis] },
    );
    redisEnv = { REDIS_URL: `redis://127.0.0.1:${redisPort}` };
  }

  // -- PostgreSQL for the result store, migrated as the image does it (node-pg-migrate from the app dir)
  const appDir = IMAGE_LAYOUT ? await imageLayout() : ROOT;
  const databaseUrl = await createDatabase();
  await run(
    'migrate',
    process.execPath,
    ['node_modules/node-pg-migrate/bin/node-pg-migrate.js', 'up', '--migrations-dir', 'migrations', '--no-verbose'],
    { cwd: appDir, env: { ...process.env, DATABASE_URL: databaseUrl } },
  );
  log(`database ${database} migrated`);

  // -- the apps, with short backoffs so retries and dead-letters happen in seconds
  const appEnv = {
    ...redisEnv,
    QUEUE_PREFIX: 'taskq-dashcheck',
    LOG_LEVEL: 'warn',
    DEMO_TASKS: 'true',
    RETRY_BACKOFF_BASE_MS: '50',
    RETRY_BACKOFF_MAX_MS: '200',
    NODE_ENV: 'production',
    RESULTS_BACKEND: 'postgres',
    DATABASE_URL: databaseUrl,
  };
  // The workload submits without credentials, on loopback only.
  const apiEnv = {
    ...appEnv,
    PORT: String(apiPort),
    METRICS_PORT: String(apiMetricsPort),
    AUTH_MODE: 'none',
    HOST: '127.0.0.1',
    RATE_LIMIT_MAX: '0',
  };
  const workerEnv = {
    ...appEnv,
    METRICS_PORT: String(workerMetricsPort),
    WORKER_CONCURRENCY: '4',
    SHUTDOWN_GRACE_MS: '3000',
  };
  // With their source maps, as the image runs them (its NODE_OPTIONS).
  const api = start('api', process.execPath, ['--enable-source-maps', 'dist/apps/api/main.js'], apiEnv, appDir);
  const worker = start(
    'worker',
    process.execPath,
    ['--enable-source-maps', 'dist/apps/worker/main.js'],
    workerEnv,
    appDir,
  );
  const apiBase = `http://127.0.0.1:${apiPort}`;
  await waitFor('api /health/ready', () => httpOk(`${apiBase}/health/ready`), { watch: [api] });
  await waitFor('worker /health/ready', () => httpOk(`http://127.0.0.1:${workerMetricsPort}/health/ready`), {
    watch: [worker],
  });
  log(`api and worker ready${IMAGE_LAYOUT ? ` (image layout, production dependencies only, in ${appDir})` : ''}`);
  if (IMAGE_LAYOUT) {
    // The container's HEALTHCHECK: `node healthcheck.js` with the app's own env.
    // HEALTH_PORT stands in for the /proc/1/cmdline detection (PID 1 here is not the app).
    await run('healthcheck (api)', process.execPath, ['healthcheck.js'], {
      cwd: appDir,
      env: { ...process.env, ...apiEnv },
    });
    await run('healthcheck (worker)', process.execPath, ['healthcheck.js'], {
      cwd: appDir,
      env: { ...process.env, ...workerEnv, HEALTH_PORT: String(workerMetricsPort) },
    });
    log('image layout: healthcheck.js answers 0 for api and worker');
  }

  // -- prometheus, scraping both every second under the job names the dashboards use
  const promConfig = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: api',
    `    static_configs: [{ targets: ["127.0.0.1:${apiMetricsPort}"] }]`,
    '  - job_name: worker',
    `    static_configs: [{ targets: ["127.0.0.1:${workerMetricsPort}"] }]`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(tmp, 'prometheus.yml'), promConfig);
  const prom = start('prometheus', 'prometheus', [
    `--config.file=${path.join(tmp, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(tmp, 'prom-data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ]);
  const promBase = `http://127.0.0.1:${promPort}`;
  await waitFor('prometheus ready', () => httpOk(`${promBase}/-/ready`), { watch: [prom] });
  await waitFor(
    'both targets up',
    async () => {
      const r = await promQuery(promBase, 'sum(up{job=~"api|worker"})');
      return r.series && r.series.length && Number(r.series[0].value[1]) === 2;
    },
    { watch: [prom, api, worker], timeoutMs: 30000 },
  );
  log('prometheus scrapes api and worker');

  // -- workload: two waves a few seconds apart, so rate() sees increases between scrapes
  const workloadStart = Date.now();
  // A schedule firing every second all through it (the Schedules row: runs, lag, how far behind).
  const schedule = await postJson(
    `${apiBase}/schedules/dashcheck-every-second`,
    { every_ms: 1000, task: { task_type: 'echo', payload: 'tick' } },
    'PUT',
  );
  // A queue served by an HTTP worker (this script, over /work/*): the HTTP workers panel.
  await postJson(`${apiBase}/task-types/dashcheck.remote`, { queue: 'remote', payload_schema: {} }, 'PUT');
  const ids = [];
  for (let wave = 0; wave < 2; wave++) {
    for (let i = 0; i < 3; i++) {
      ids.push(idOf(await postJson(`${apiBase}/submit`, { task_type: 'dashcheck.remote', payload: { wave, i } })));
    }
    for (let completed = 0; completed < 3;) {
      const claimed = await postJson(`${apiBase}/work/claim`, {
        worker_id: 'dashcheck',
        queues: ['remote'],
        max: 3,
        wait_ms: 5000,
      });
      for (const task of claimed.tasks) {
        await postJson(`${apiBase}/work/${encodeURIComponent(task.task_id)}/complete`, {
          lease_token: task.lease_token,
          result: wave,
        });
        completed++;
      }
    }
    for (let i = 0; i < 5; i++) {
      ids.push(idOf(await postJson(`${apiBase}/submit`, { task_type: 'echo', payload: { wave, i } })));
      ids.push(idOf(await postJson(`${apiBase}/submit`, { task_type: 'email', payload: 'a@b.com' })));
    }
    // A burst larger than the worker's 4 slots, so tasks queue up for a moment
    // (queue depth, oldest-task age and in-flight get non-zero values).
    ids.push(
      ...idsOf(
        await postJson(`${apiBase}/submit/batch`, {
          tasks: [
            ...Array.from({ length: 12 }, (_, i) => ({ task_type: 'sleep', payload: { ms: 250 + 50 * (i % 4) } })),
            { task_type: 'echo', payload: 'batch' },
          ],
        }),
      ),
    );
    // fails once, then succeeds on its retry
    for (let i = 0; i < 3; i++) {
      ids.push(
        idOf(await postJson(`${apiBase}/submit`, { task_type: 'fail', payload: { fail_times: 1 }, max_retries: 2 })),
      );
    }
    // always fails: retried once, then dead-lettered
    for (let i = 0; i < 2; i++) {
      ids.push(idOf(await postJson(`${apiBase}/submit`, { task_type: 'fail', payload: {}, max_retries: 1 })));
    }
    // a delayed task cancelled before it runs (tasks_cancelled_total); it is not one of `ids`, which must finish
    const delayed = idOf(
      await postJson(`${apiBase}/submit`, { task_type: 'echo', payload: 'never', delay_ms: 600000 }),
    );
    await postJson(`${apiBase}/tasks/${encodeURIComponent(delayed)}/cancel`);
    // a paused queue (queue_paused), with a task waiting in it
    if (wave === 0) {
      await postJson(`${apiBase}/submit`, { task_type: 'echo', payload: 'held', queue: 'paused-demo' });
      await postJson(`${apiBase}/queues/paused-demo/pause`);
    }
    await sleep(3000);
  }
  log(`submitted ${ids.length} tasks`);

  const final = new Map();
  await waitFor(
    'all tasks finished',
    async () => {
      for (const id of ids) {
        if (final.has(id)) continue;
        const res = await fetch(`${apiBase}/tasks/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) continue;
        const state = stateOf(await res.json());
        if (state === 'succeeded' || state === 'dead') final.set(id, state);
      }
      return final.size === ids.length;
    },
    { watch: [api, worker], timeoutMs: 90000, intervalMs: 500 },
  );
  const counts = {};
  for (const s of final.values()) counts[s] = (counts[s] || 0) + 1;
  log(`all finished: ${JSON.stringify(counts)}`);
  if (!counts.succeeded || !counts.dead)
    throw new Error(`workload should end with succeeded and dead tasks, got ${JSON.stringify(counts)}`);

  // -- let Prometheus take a few more scrapes (and the api refresh its gauges)
  await waitFor(
    'dead-letters scraped',
    async () => {
      const r = await promQuery(promBase, 'sum(tasks_failed_total{job="worker"})');
      return r.series && r.series.length && Number(r.series[0].value[1]) >= counts.dead;
    },
    { watch: [prom], timeoutMs: 30000 },
  );
  // Every finished task's row committed, and seen by Prometheus (the result store panels).
  await waitFor(
    'finished tasks archived and scraped',
    async () => {
      const r = await promQuery(promBase, 'sum(results_archived_total{job="worker"})');
      return r.series && r.series.length && Number(r.series[0].value[1]) >= ids.length;
    },
    { watch: [prom, worker], timeoutMs: 30000 },
  );
  await waitFor(
    'schedule runs scraped',
    async () => {
      const r = await promQuery(promBase, 'sum(schedule_runs_total{job="worker"})');
      return r.series && r.series.length && Number(r.series[0].value[1]) >= 5;
    },
    { watch: [prom, worker], timeoutMs: 30000 },
  );
  log(`schedule ${schedule.schedule_id} fired and scraped`);
  await sleep(3000);

  // Grafana picks $__rate_interval from the panel width; here: the whole workload.
  const rateWindow = `${Math.ceil((Date.now() - workloadStart) / 1000) + 10}s`;
  log(`evaluating with $__rate_interval=${rateWindow}, $queue=.*, $task_type=.*`);

  // -- evaluate
  const lines = [];
  let failed = 0;
  let withData = 0;
  for (const v of variables) {
    const m = /^label_values\((?:(.*),\s*)?(\w+)\)$/.exec((v.query || '').trim());
    let status;
    let n = 0;
    if (!m) {
      status = 'ERROR';
      n = `unsupported variable query: ${v.query}`;
    } else {
      const params = m[1] ? `?match[]=${encodeURIComponent(m[1])}` : '';
      const res = await fetch(`${promBase}/api/v1/label/${m[2]}/values${params}`);
      const body = await res.json();
      if (body.status !== 'success') {
        status = 'ERROR';
        n = body.error;
      } else {
        n = body.data.length;
        status = n ? 'OK' : 'EMPTY';
      }
    }
    if (status !== 'OK') failed++;
    lines.push({ kind: 'variable', dashboard: v.dashboard, title: `$${v.name}`, status, detail: n });
  }
  for (const p of panels) {
    let status = 'OK';
    const details = [];
    let total = 0;
    for (const t of p.exprs) {
      let r;
      try {
        r = await promQuery(promBase, substitute(t.expr, rateWindow));
      } catch (e) {
        r = { error: e.message };
      }
      if (r.error) {
        status = 'ERROR';
        details.push(`${t.refId}: ${r.error}`);
      } else if (!r.series.length) {
        if (status === 'OK') status = 'EMPTY';
        details.push(`${t.refId}: empty`);
      } else {
        total += r.series.length;
        details.push(`${t.refId}: ${r.series.length}`);
      }
    }
    if (status === 'OK') withData++;
    else failed++;
    lines.push({
      kind: 'panel',
      dashboard: p.dashboard,
      title: p.title,
      status,
      detail: `${total} series (${details.join(', ')})`,
    });
  }

  if (SNAPSHOT) {
    const end = Date.now() / 1000;
    const start = workloadStart / 1000 - 5;
    const dashboards = {};
    for (const p of panels) {
      const d = (dashboards[p.uid] ||= { uid: p.uid, title: p.dashboard, panels: [] });
      const series = [];
      for (const t of p.exprs) {
        // Short windows for the curves, as Grafana would pick for a short range.
        const expr = substitute(t.expr, '10s');
        const url = `${promBase}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${start}&end=${end}&step=1`;
        const body = await (await fetch(url)).json();
        for (const r of body.status === 'success' ? body.data.result : []) {
          const legend = (t.legend && t.legend !== '__auto' ? t.legend : JSON.stringify(r.metric)).replace(
            /\{\{\s*(\w+)\s*\}\}/g,
            (_, k) => r.metric[k] ?? '',
          );
          series.push({ legend, values: r.values.map(([ts, v]) => [Number(ts) - start, Number(v)]) });
        }
      }
      d.panels.push({ title: p.title, type: p.type, unit: p.unit, gridPos: p.gridPos, series });
    }
    fs.writeFileSync(
      SNAPSHOT,
      JSON.stringify({
        takenAt: new Date().toISOString(),
        seconds: end - start,
        tasks: ids.length,
        counts,
        dashboards: Object.values(dashboards),
      }),
    );
    log(`snapshot written to ${SNAPSHOT}`);
  }

  for (const l of lines) console.log(`${l.status.padEnd(5)}  ${l.dashboard} :: ${l.title} — ${l.detail}`);
  const summary = `${withData}/${panels.length} panels returned data; ${failed} failures`;
  console.log(summary);

  if (REPORT) {
    const md = [
      `# Dashboard query check`,
      ``,
      `Prometheus scraping the built api and worker (1 s interval) after a workload of ${ids.length} tasks (${Object.entries(
        counts,
      )
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}); $__rate_interval=${rateWindow}, $queue and $task_type = All.`,
      ``,
      `| dashboard | panel / variable | result | series |`,
      `| --- | --- | --- | --- |`,
      ...lines.map((l) => `| ${l.dashboard} | ${l.title} | ${l.status} | ${String(l.detail).replace(/\|/g, '\\|')} |`),
      ``,
      `**${summary}.**`,
      ``,
    ].join('\n');
    fs.mkdirSync(path.dirname(path.resolve(REPORT)), { recursive: true });
    fs.writeFileSync(REPORT, md);
    log(`report written to ${REPORT}`);
  }
  return failed ? 1 : 0;
}

let exiting = false;
async function finish(code) {
  if (exiting) return;
  exiting = true;
  await stopAll();
  if (database) await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  await cluster?.stop().catch(() => undefined);
  if (tmp && !KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  else if (tmp) log(`kept ${tmp}`);
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => finish(130));

main().then(finish, async (err) => {
  console.error(`[check-dashboards] FAILED: ${err.stack || err.message}`);
  for (const c of children) console.error(`--- ${c.name} log (tail) ---\n${tail(c.name)}`);
  await finish(1);
});
