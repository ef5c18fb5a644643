#!/usr/bin/env node
'use strict';
/**
 * taskq vs BullMQ (and Bee-Queue for enqueue), side by side on one private Redis.
 * Every scenario alternates ours and the anchor (A B A B ...) and reports the median and range of
 * each side and of the per-pair ratio. Runs the built apps from .dist-bench (see bench/README.md).
 *
 *   npm run bench                      the whole set (< 15 min on 2 cores)
 *   npm run bench -- --only=drain,http  a subset: drain, aof, enqueue, http, latency, results, cluster, sourcemaps,
 *                                      httpworker (HTTP workers vs the native worker: bench/results/http-worker.*), soak
 *                                      (results, the PostgreSQL result store on vs off, writes its own
 *                                      bench/results/results-store.{md,json}; cluster its cluster.{md,json};
 *                                      sourcemaps, the worker with and without --enable-source-maps, its
 *                                      source-maps.{md,json})
 *   npm run bench -- --pairs=5          more pairs per scenario
 *   npm run bench -- --no-write         don't touch bench/results/
 *   npm run bench -- --only=soak        one API key at 1,000 submits/s for 10 minutes with the default limits:
 *                                      every answer must be a 202 (--soak-seconds, --soak-rate; only when
 *                                      named: not part of the whole set; writes bench/results/soak.{md,json})
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { DIST, ROOT, startRedis, summarize, median } = require('./lib/util');
const { ratioChart } = require('./lib/chart');
const { drainOnce } = require('./scenarios/drain');
const { MODES, openClients, enqueueOnce } = require('./scenarios/enqueue');
const http = require('./scenarios/http');
const { latencyOnce } = require('./scenarios/latency');
const { openDatabase, resultsDrainOnce } = require('./scenarios/results');
const cluster = require('./scenarios/cluster');
const { soakOnce } = require('./scenarios/soak');
const { sourceMapsDrainOnce } = require('./scenarios/source-maps');
const { httpDrainOnce, nativeDrainOnce } = require('./scenarios/http-worker');

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key, value ?? true];
  }),
);
const PAIRS = Number(args.pairs ?? 3);
const ONLY = args.only ? new Set(String(args.only).split(',')) : null;
const run = (name) => !ONLY || ONLY.has(name);
/** Scenarios that run only when --only names them (the soak takes 10 minutes by itself). */
const runNamed = (name) => ONLY?.has(name) ?? false;
const DRAIN_N = Number(args.n ?? 20_000);
const HTTP_SECONDS = Number(args['http-seconds'] ?? 5);
const HTTP_WORKER_N = Number(args['http-worker-n'] ?? 5000);
const LATENCY_SECONDS = Number(args['latency-seconds'] ?? 10);
const CLUSTER_DRAIN_N = Number(args['cluster-n'] ?? 24_000);
const SOAK_SECONDS = Number(args['soak-seconds'] ?? 600);
const SOAK_RATE = Number(args['soak-rate'] ?? 1000);
const CLASSIC = ['drain', 'aof', 'enqueue', 'http', 'latency'];

const results = { scenarios: {} };
const log = (...parts) => console.log(...parts);

/** A B A B ...: `measure(side)` returns a record, `pick` the number compared. */
async function pairs(name, sides, measure, pick = (r) => r) {
  const runs = Object.fromEntries(sides.map((side) => [side, []]));
  for (let i = 0; i < PAIRS; i++) {
    for (const side of sides) runs[side].push(await measure(side, i));
  }
  const values = Object.fromEntries(sides.map((side) => [side, runs[side].map(pick)]));
  log(`  ${name}: ${sides.map((side) => `${side} ${fmt(median(values[side]))}`).join(', ')}`);
  return { runs, values };
}

function fmt(n, digits = 0) {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
const fmtRatio = (r) => `${fmt(r.median, 2)}× (${fmt(r.min, 2)}–${fmt(r.max, 2)})`;

async function drainScenarios(redis) {
  const rows = [];
  for (const concurrency of [1, 10, 50, 100]) {
    for (const retained of [false, true]) {
      const name = `drain c=${concurrency} ${retained ? 'retained' : 'not retained'}`;
      const { runs, values } = await pairs(
        name,
        ['ours', 'bullmq'],
        (system) => drainOnce(system, redis, { n: DRAIN_N, concurrency, retained }),
        (r) => r.tasksPerSec,
      );
      rows.push({ concurrency, retained, runs, ...summarize(values.ours, values.bullmq) });
    }
  }
  results.scenarios.drain = rows;
}

async function aofScenario() {
  // One pair on a Redis with AOF everysec, next to the no-persistence median at the same settings.
  const redis = await startRedis({ aof: true });
  try {
    const ours = await drainOnce('ours', redis, { n: DRAIN_N, concurrency: 50, retained: false });
    const bullmq = await drainOnce('bullmq', redis, { n: DRAIN_N, concurrency: 50, retained: false });
    log(`  drain c=50 AOF everysec: ours ${fmt(ours.tasksPerSec)}, bullmq ${fmt(bullmq.tasksPerSec)}`);
    results.scenarios.aof = {
      ours: ours.tasksPerSec,
      bullmq: bullmq.tasksPerSec,
      ratio: ours.tasksPerSec / bullmq.tasksPerSec,
    };
  } finally {
    await redis.stop();
  }
}

async function enqueueScenarios(redis) {
  const { clients, close } = await openClients(redis.url);
  try {
    for (const client of Object.values(clients)) for (let i = 0; i < 50; i++) await client.add({ warm: i });
    const rows = [];
    for (const mode of Object.keys(MODES)) {
      const { runs, values } = await pairs(
        `enqueue ${MODES[mode].label}`,
        ['ours', 'bullmq', 'bee'],
        async (system) => {
          await redis.client.flushall();
          return enqueueOnce(clients[system], mode, redis.client);
        },
        (r) => r.tasksPerSec,
      );
      rows.push({
        mode,
        label: MODES[mode].label,
        vsBullmq: summarize(values.ours, values.bullmq),
        vsBee: summarize(values.ours, values.bee),
        // Client and Redis CPU per task, median per side: their sum bounds an awaited loop's rate.
        cpu: Object.fromEntries(
          Object.keys(runs).map((side) => [
            side,
            {
              clientUs: median(runs[side].map((r) => r.clientCpuUsPerTask)),
              redisUs: median(runs[side].map((r) => r.redisCpuUsPerTask)),
            },
          ]),
        ),
      });
    }
    results.scenarios.enqueue = rows;
  } finally {
    await close();
  }
}

async function httpScenarios(redis) {
  const servers = await http.startServers(redis.url);
  try {
    const rows = [];
    for (const route of ['one', 'batch']) {
      const { runs } = await pairs(
        `http ${route}`,
        ['ours', 'oursAuth', 'ceiling', 'bullmq'],
        async (system) => {
          await http.keepKeys(redis.client, () => redis.client.flushall());
          return http.load(system, servers.urls[system], route, HTTP_SECONDS, servers.pids[system], redis.client);
        },
        (r) => r.tasksPerSec,
      );
      const pick = (side, key) => runs[side].map((r) => r[key]);
      rows.push({
        route: route === 'one' ? 'POST /submit' : `POST /submit/batch (${http.BATCH_SIZE}/request)`,
        runs,
        vsCeiling: summarize(pick('ours', 'reqPerSec'), pick('ceiling', 'reqPerSec')),
        vsBullmq: summarize(pick('ours', 'reqPerSec'), pick('bullmq', 'reqPerSec')),
        authVsCeiling: summarize(pick('oursAuth', 'reqPerSec'), pick('ceiling', 'reqPerSec')),
        latency: Object.fromEntries(
          ['ours', 'oursAuth', 'ceiling', 'bullmq'].map((side) => [
            side,
            { p50Ms: median(pick(side, 'p50Ms')), p99Ms: median(pick(side, 'p99Ms')) },
          ]),
        ),
        // CPU per request of the server process and of Redis, median per side: what bounds each req/s.
        cpu: Object.fromEntries(
          ['ours', 'oursAuth', 'ceiling', 'bullmq'].map((side) => [
            side,
            { serverUs: median(pick(side, 'serverCpuUsPerReq')), redisUs: median(pick(side, 'redisCpuUsPerReq')) },
          ]),
        ),
      });
    }
    results.scenarios.http = rows;
  } finally {
    await servers.stop();
  }
}

/** The PostgreSQL result store on vs off: same drain, alternating, on a scratch database. */
async function resultsScenario(redis) {
  const db = await openDatabase();
  try {
    const { runs } = await pairs(
      'results c=50 retained, redis vs postgres',
      ['redis', 'postgres'],
      (backend) =>
        resultsDrainOnce(backend, redis, backend === 'postgres' ? db : null, { n: DRAIN_N, concurrency: 50 }),
      (r) => r.tasksPerSec,
    );
    const pick = (side, key) => runs[side].map((r) => r[key]);
    results.scenarios.results = {
      runs,
      drain: summarize(pick('postgres', 'tasksPerSec'), pick('redis', 'tasksPerSec')),
      toStore: summarize(pick('postgres', 'toStoreTasksPerSec'), pick('redis', 'tasksPerSec')),
      bytesPerFinished: {
        redis: median(pick('redis', 'redisBytesPerFinished')),
        postgres: median(pick('postgres', 'redisBytesPerFinished')),
      },
      bytesPerPending: median(pick('postgres', 'redisBytesPerPending').filter((v) => v !== null)),
      pendingAtDrain: median(pick('postgres', 'pendingAtDrain')),
      cpuUsPerTask: Object.fromEntries(
        ['redis', 'postgres'].map((side) => [
          side,
          Object.fromEntries(
            ['worker', 'redis', 'postgres'].map((part) => [
              part,
              median(pick(side, 'cpuUsPerTask').map((c) => c[part])),
            ]),
          ),
        ]),
      ),
    };
  } finally {
    await db.drop();
  }
}

/**
 * The worker with source maps on (node --enable-source-maps, how it runs everywhere) vs off: the same drain,
 * alternating, for succeeding tasks (the hot path) and failing ones (each reads and maps its error stack).
 */
async function sourceMapsScenario(redis) {
  const scenario = {};
  for (const kind of ['echo', 'fail']) {
    const { runs } = await pairs(
      `source maps, ${kind} c=50, on vs off`,
      ['on', 'off'],
      (side) => sourceMapsDrainOnce(redis, { kind, sourceMaps: side === 'on', n: DRAIN_N, concurrency: 50 }),
      (r) => r.tasksPerSec,
    );
    const pick = (side, key) => runs[side].map((r) => r[key]);
    scenario[kind] = {
      runs,
      drain: summarize(pick('on', 'tasksPerSec'), pick('off', 'tasksPerSec')),
      cpu: summarize(pick('on', 'workerCpuUsPerTask'), pick('off', 'workerCpuUsPerTask')),
      stack: { on: runs.on[0].stack, off: runs.off[0].stack },
    };
  }
  results.scenarios.sourceMaps = scenario;
}

/**
 * HTTP workers (the /work protocol through the built api) vs the native worker, draining the same no-op tasks
 * at the same concurrency: what a worker in another language pays per task for the protocol.
 */
async function httpWorkerScenario(redis) {
  const scenario = {};
  for (const [loops, batch] of [
    [4, 1],
    [4, 10],
  ]) {
    const shape = { n: HTTP_WORKER_N, loops, batch };
    const { runs } = await pairs(
      `HTTP worker ${loops} loops × claim max ${batch} vs native c=${loops * batch}`,
      ['http', 'native'],
      (side) => (side === 'http' ? httpDrainOnce(redis, shape) : nativeDrainOnce(redis, shape)),
      (r) => r.tasksPerSec,
    );
    scenario[`${loops}x${batch}`] = {
      loops,
      batch,
      runs,
      drain: summarize(
        runs.http.map((r) => r.tasksPerSec),
        runs.native.map((r) => r.tasksPerSec),
      ),
      apiCpuUsPerTask: median(runs.http.map((r) => r.apiCpuUsPerTask)),
      workerCpuUsPerTask: median(runs.native.map((r) => r.workerCpuUsPerTask)),
    };
  }
  results.scenarios.httpWorker = scenario;
}

function httpWorkerTable() {
  const s = results.scenarios.httpWorker;
  const lines = [
    `HTTP workers vs the native worker, ${results.date}, ${results.machine}, \`${results.command}\`; ${PAIRS} alternating pairs per row, ${fmt(HTTP_WORKER_N)} pre-filled no-op tasks; the HTTP worker is the bench process (claim loops, one POST /work/{id}/complete per task) against the built api, on the same cores as the api and Redis; ratio = median of per-pair ratios http/native (range).`,
    '',
    '| shape | HTTP worker (tasks/s) | native worker (tasks/s) | ratio http/native | api CPU per HTTP task (µs) | native worker CPU per task (µs) |',
    '| --- | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const row of Object.values(s)) {
    lines.push(
      `| ${row.loops} loops × claim max ${row.batch} (native c=${row.loops * row.batch}) | ${fmt(row.drain.ours.median)} | ${fmt(row.drain.anchor.median)} | ${fmtRatio(row.drain.ratio)} | ${fmt(row.apiCpuUsPerTask, 1)} | ${fmt(row.workerCpuUsPerTask, 1)} |`,
    );
  }
  return lines.join('\n');
}

function sourceMapsTable() {
  const s = results.scenarios.sourceMaps;
  const kinds = { echo: 'echo (succeeds: no stack read)', fail: 'fail (throws; its stack mapped and recorded)' };
  const lines = [
    `The worker with \`--enable-source-maps\` (on) vs without (off), ${results.date}, ${results.machine}, \`${results.command}\`; ${PAIRS} alternating pairs per row, 20k pre-filled tasks, worker c=50; ratio = median of per-pair ratios on/off (range).`,
    '',
    '| tasks | measure | on | off | ratio on/off |',
    '| --- | --- | ---: | ---: | --- |',
  ];
  for (const [kind, label] of Object.entries(kinds)) {
    const r = s[kind];
    lines.push(
      `| ${label} | drain (tasks/s) | ${fmt(r.drain.ours.median)} | ${fmt(r.drain.anchor.median)} | ${fmtRatio(r.drain.ratio)} |`,
      `| ${label} | worker CPU per task (µs) | ${fmt(r.cpu.ours.median, 1)} | ${fmt(r.cpu.anchor.median, 1)} | ${fmtRatio(r.cpu.ratio)} |`,
    );
  }
  lines.push(`| fail | top frame of the recorded stack | ${s.fail.stack.on} | ${s.fail.stack.off} | |`);
  return lines.join('\n');
}

function resultsTable() {
  const r = results.scenarios.results;
  const lines = [
    `RESULTS_BACKEND=postgres vs redis, ${results.date}, ${results.machine}, PostgreSQL ${results.postgres}, \`${results.command}\`; ${PAIRS} alternating pairs, 20k pre-filled echo tasks, worker c=50, results retained (redis: RESULT_TTL_SECONDS 86400); ratio = median of per-pair ratios (range).`,
    '',
    '| measure | redis | postgres | ratio postgres/redis |',
    '| --- | ---: | ---: | --- |',
    `| drain, first claim to last ack (tasks/s) | ${fmt(r.drain.anchor.median)} | ${fmt(r.drain.ours.median)} | ${fmtRatio(r.drain.ratio)} |`,
    `| drain until every row is committed in PostgreSQL (tasks/s) | (no store) | ${fmt(r.toStore.ours.median)} | ${fmtRatio(r.toStore.ratio)} |`,
    `| Redis bytes per finished task, worker idle | ${fmt(r.bytesPerFinished.redis)} | ${fmt(r.bytesPerFinished.postgres, 1)} | |`,
    `| Redis bytes per task waiting for PostgreSQL (end of drain, ${fmt(r.pendingAtDrain)} waiting) | | ${fmt(r.bytesPerPending)} | |`,
  ];
  if (r.cpuUsPerTask) {
    const c = r.cpuUsPerTask;
    const sum = (side) => c[side].worker + c[side].redis + c[side].postgres;
    const cell = (side) =>
      `${fmt(sum(side), 1)} (worker ${fmt(c[side].worker, 1)}, Redis ${fmt(c[side].redis, 1)}, PostgreSQL ${fmt(c[side].postgres, 1)})`;
    lines.push(
      `| CPU per task, first claim to the end (µs; ${os.cpus().length} cores: ${os.cpus().length} s / the sum bounds tasks/s) | ${cell('redis')} | ${cell('postgres')} | ${fmt(sum('postgres') / sum('redis'), 2)}× |`,
    );
  }
  return lines.join('\n');
}

/**
 * One Redis node vs a Redis Cluster of 1 and of 3 masters, 12 queues, sides alternating (one, c1, c3,
 * one, ...): drain by 2 workers and HTTP submits. The ratio compared is 3 masters over 1 master.
 */
async function clusterScenario() {
  const started = Date.now();
  const { sides, stop } = await cluster.startSides();
  const names = Object.keys(cluster.SIDES);
  try {
    const rows = [];
    const drain = await pairs(
      'cluster drain',
      names,
      (side) => cluster.drainOnce(side, sides[side], { n: CLUSTER_DRAIN_N }),
      (r) => r.tasksPerSec,
    );
    rows.push({ name: 'drain', unit: 'tasks/s', runs: drain.runs, ...sideStats(drain.runs, (r) => r.tasksPerSec) });
    rows.push({
      name: 'drainRedisCpu',
      unit: 'µs',
      runs: drain.runs,
      ...sideStats(drain.runs, (r) => r.redisCpuUsPerTask),
    });
    const { apis, stop: stopApis } = await cluster.startApis(sides);
    try {
      for (const route of ['one', 'batch']) {
        const submit = await pairs(
          `cluster submit ${route}`,
          names,
          async (side) => {
            await sides[side].flush();
            return cluster.submitOnce(apis[side].url, route, HTTP_SECONDS);
          },
          (r) => r.tasksPerSec,
        );
        rows.push({
          name: route === 'one' ? 'submitOne' : 'submitBatch',
          unit: 'tasks/s',
          runs: submit.runs,
          ...sideStats(submit.runs, (r) => r.tasksPerSec),
          p99Ms: Object.fromEntries(names.map((side) => [side, median(submit.runs[side].map((r) => r.p99Ms))])),
        });
      }
    } finally {
      await stopApis();
    }
    results.scenarios.cluster = {
      seconds: Math.round((Date.now() - started) / 1000),
      cores: cluster.cores(),
      queues: cluster.QUEUES.length,
      workers: cluster.WORKERS,
      concurrency: cluster.CONCURRENCY,
      drainN: CLUSTER_DRAIN_N,
      rows,
    };
  } finally {
    await stop();
  }
}

/** Median per side, and 3 masters over 1 master pair by pair. */
function sideStats(runs, pick) {
  const medians = Object.fromEntries(Object.entries(runs).map(([side, list]) => [side, median(list.map(pick))]));
  return { medians, c3VsC1: summarize(runs.c3.map(pick), runs.c1.map(pick)).ratio };
}

async function latencyScenario(redis) {
  const { runs } = await pairs(
    'latency 1000/s',
    ['ours', 'bullmq'],
    (system) => latencyOnce(system, redis, { rate: 1000, seconds: LATENCY_SECONDS }),
    (r) => r.toStart.p99,
  );
  const stat = (side, phase, p) => median(runs[side].map((r) => r[phase][p]));
  const row = {};
  for (const phase of ['toStart', 'toComplete']) {
    row[phase] = {};
    for (const p of ['p50', 'p95', 'p99'])
      row[phase][p] = { ours: stat('ours', phase, p), bullmq: stat('bullmq', phase, p) };
  }
  results.scenarios.latency = {
    runs,
    ...row,
    p99StartRatio: summarize(
      runs.ours.map((r) => r.toStart.p99),
      runs.bullmq.map((r) => r.toStart.p99),
    ).ratio,
  };
}

function clusterTable() {
  const c = results.scenarios.cluster;
  const lines = [
    `One Redis node vs Redis Cluster with 1 and 3 masters (no replicas), ${c.queues} queues, ${results.date}, ${results.machine}, \`${results.command}\`; all processes (Redis nodes, api, ${c.workers} workers, load generator) share the same ${c.cores} cores; ${PAIRS} alternating rounds (one node, 1 master, 3 masters), median; ratio = 3 masters / 1 master, median of per-round ratios (range).`,
    '',
    '| scenario | one Redis node | Cluster, 1 master | Cluster, 3 masters | 3 masters / 1 master |',
    '| --- | ---: | ---: | ---: | --- |',
  ];
  const label = {
    drain: `drain ${fmt(c.drainN)} no-op tasks over ${c.queues} queues, ${c.workers} workers × c=${c.concurrency} (tasks/s)`,
    drainRedisCpu: 'Redis CPU per task in that drain, summed over the masters (µs)',
    submitOne: `HTTP POST /submit, 50 conns, round-robin over ${c.queues} queues (req/s)`,
    submitBatch: `HTTP POST /submit/batch, 100 tasks over ${c.queues} queues per request, 50 conns (tasks/s)`,
  };
  for (const row of c.rows) {
    const cell = (side) =>
      `${fmt(row.medians[side], row.name === 'drainRedisCpu' ? 1 : 0)}${row.p99Ms ? `; p99 ${row.p99Ms[side]} ms` : ''}`;
    lines.push(`| ${label[row.name]} | ${cell('one')} | ${cell('c1')} | ${cell('c3')} | ${fmtRatio(row.c3VsC1)} |`);
  }
  return lines.join('\n');
}

/**
 * One key at SOAK_RATE submits/s for SOAK_SECONDS, every limit at its default: a producer at that rate
 * must get only 202s. Not a comparison with an anchor: a pass/fail with its figures.
 */
async function soakScenario(redis) {
  const soak = await soakOnce(redis, { rate: SOAK_RATE, seconds: SOAK_SECONDS });
  results.scenarios.soak = soak;
  const t = soak.totals;
  const refused = t.tooMany + t.otherStatus + t.errors;
  if (refused) process.exitCode = 1;
  return refused;
}

function soakTable() {
  const s = results.scenarios.soak;
  const t = s.totals;
  const d = s.defaults;
  const limits = d
    ? `rate limit ${fmt(d.rate_limit.max)} per ${fmt(d.rate_limit.per_ms / 1000)} s, quota ${fmt(d.quota.tasks)} tasks and ${fmt(d.quota.payload_bytes / 2 ** 30)} GiB per ${fmt(d.quota.per_seconds)} s`
    : 'the defaults';
  const lines = [
    `Soak: one API key at ${fmt(s.rate)} submits/s for ${fmt(s.seconds)} s (${s.connections} connections, autocannon \`overallRate\`), the built api with AUTH_MODE=api-key and every limit at its default (${limits}), one worker at c=50 draining; ${results.date}, ${results.machine}, \`${results.command}\`.`,
    '',
    '| seconds | requests | req/s | 202 | 429 | other status | errors | p50 / p99 / max (ms) | api RSS (MiB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const g of s.segments) {
    lines.push(
      `| ${g.fromSecond}–${g.toSecond} | ${fmt(g.requests)} | ${fmt(g.perSecond)} | ${fmt(g.accepted)} | ${g.tooMany} | ${g.otherStatus} | ${g.errors} | ${g.p50Ms} / ${g.p99Ms} / ${g.maxMs} | ${fmt(g.apiRssMiB, 1)} |`,
    );
  }
  lines.push(
    `| **total** | **${fmt(t.requests)}** | **${fmt(t.perSecond)}** | **${fmt(t.accepted)}** | **${t.tooMany}** | **${t.otherStatus}** | **${t.errors}** | worst p99 ${t.worstP99Ms} / max ${t.maxMs} | |`,
    '',
    `The key's quota counter (\`${t.quotaCounter}\`) held ${t.quotaCounted === null ? 'nothing' : fmt(t.quotaCounted)} tasks at the end; ${t.queuedAtEnd ?? '?'} tasks were still queued; the api spent ${fmt(t.apiCpuUsPerRequest, 1)} µs of CPU per request.`,
  );
  return lines.join('\n');
}

/** The ratio rows of the last table(), for the chart: label, anchor, median ratio, which way is better. */
let chartRows = [];

function table() {
  const s = results.scenarios;
  const lines = [];
  chartRows = [];
  const row = (...cells) => {
    lines.push(`| ${cells.join(' | ')} |`);
    const ratio = /^(?:p99 )?([\d.]+)×/.exec(cells[3] ?? '');
    if (ratio && cells[0] !== 'scenario') {
      chartRows.push({
        label: cells[0],
        anchor: String(cells[2]).split(/ [\d,]+/)[0],
        ratio: Number(ratio[1]),
        higherIsBetter: /\((tasks|req)\/s/.test(cells[0]),
      });
    }
  };
  lines.push(
    `taskq vs BullMQ ${require('bullmq/package.json').version} / Bee-Queue ${require('bee-queue/package.json').version}, Fastify ${require('fastify/package.json').version} (the api and both HTTP anchors), ioredis ${require('ioredis/package.json').version}, ${results.date}, ${results.machine}, \`${results.command}\`; ${PAIRS} alternating pairs per row, ratio = median of per-pair ratios (range).`,
    '',
  );
  row('scenario', 'taskq', 'anchor', 'ratio taskq/anchor', 'limit / note');
  row('---', '---:', '---:', '---', '---');
  for (const d of s.drain ?? []) {
    row(
      `drain 20k no-op, c=${d.concurrency}, ${d.retained ? 'retained' : 'not retained'} (tasks/s)`,
      fmt(d.ours.median),
      `BullMQ ${fmt(d.anchor.median)}`,
      fmtRatio(d.ratio),
      d.concurrency >= 50 && !d.retained ? 'target ≥ 2.5×' : '',
    );
  }
  if (s.aof)
    row(
      'drain c=50 with AOF everysec (tasks/s, 1 pair)',
      fmt(s.aof.ours),
      `BullMQ ${fmt(s.aof.bullmq)}`,
      `${fmt(s.aof.ratio, 2)}×`,
      'persistence cost vs the row without AOF',
    );
  for (const e of s.enqueue ?? []) {
    row(
      `library enqueue, ${e.label} (tasks/s)`,
      fmt(e.vsBullmq.ours.median),
      `BullMQ ${fmt(e.vsBullmq.anchor.median)}`,
      fmtRatio(e.vsBullmq.ratio),
      e.mode === 'bulk1000' ? 'target ≥ 3×' : '',
    );
    row(
      `library enqueue, ${e.label} (tasks/s)`,
      fmt(e.vsBee.ours.median),
      `Bee-Queue ${fmt(e.vsBee.anchor.median)}`,
      fmtRatio(e.vsBee.ratio),
      e.mode === 'bulk1000' ? 'target ≥ 1.2×' : '',
    );
    if (e.cpu && e.mode === 'bulk1000') {
      const cpu = (side) => `${e.cpu[side].clientUs.toFixed(2)} / ${e.cpu[side].redisUs.toFixed(2)}`;
      const sum = (side) => e.cpu[side].clientUs + e.cpu[side].redisUs;
      row(
        `library enqueue, ${e.label}: CPU per task, client / Redis (µs)`,
        cpu('ours'),
        `Bee-Queue ${cpu('bee')}; BullMQ ${cpu('bullmq')}`,
        `${(sum('ours') / sum('bee')).toFixed(2)}× Bee-Queue's sum`,
        'each batch is awaited: the sum bounds tasks/s',
      );
    }
  }
  for (const h of s.http ?? []) {
    const batch = h.route.includes('batch');
    const tasks = (x) => (batch ? ` = ${fmt(x * http.BATCH_SIZE)} tasks/s` : '');
    const lat = (side) => `p50 ${h.latency[side].p50Ms} / p99 ${h.latency[side].p99Ms} ms`;
    row(
      `HTTP ${h.route}, 50 conns (req/s)`,
      `${fmt(h.vsCeiling.ours.median)}${tasks(h.vsCeiling.ours.median)}; ${lat('ours')}`,
      `Fastify+LPUSH ${fmt(h.vsCeiling.anchor.median)}; ${lat('ceiling')}`,
      fmtRatio(h.vsCeiling.ratio),
      batch ? 'target ≥ 120,000 tasks/s' : 'target ≥ 0.85× ceiling',
    );
    if (h.authVsCeiling) {
      row(
        `HTTP ${h.route} with an API key, 50 conns (req/s)`,
        `${fmt(h.authVsCeiling.ours.median)}${tasks(h.authVsCeiling.ours.median)}; ${lat('oursAuth')}`,
        `Fastify+LPUSH ${fmt(h.authVsCeiling.anchor.median)}`,
        fmtRatio(h.authVsCeiling.ratio),
        batch ? '' : 'target ≥ 0.8× ceiling',
      );
    }
    row(
      `HTTP ${h.route}, 50 conns (req/s)`,
      fmt(h.vsBullmq.ours.median),
      `Fastify+BullMQ ${batch ? 'addBulk' : 'add'} ${fmt(h.vsBullmq.anchor.median)}; ${lat('bullmq')}`,
      fmtRatio(h.vsBullmq.ratio),
      batch ? '' : 'target ≥ 1.5×',
    );
    if (h.cpu) {
      const cpu = (side) => `${h.cpu[side].serverUs.toFixed(1)} / ${h.cpu[side].redisUs.toFixed(1)}`;
      row(
        `HTTP ${h.route}: CPU per request, server / Redis (µs)`,
        `${cpu('ours')}; with an API key ${cpu('oursAuth')}`,
        `Fastify+LPUSH ${cpu('ceiling')}; Fastify+BullMQ ${cpu('bullmq')}`,
        `${(h.cpu.ours.serverUs / h.cpu.ceiling.serverUs).toFixed(2)}× the ceiling's server CPU`,
        'one Node process serves at most 1 s / its CPU per request',
      );
    }
  }
  if (s.latency) {
    for (const phase of ['toStart', 'toComplete']) {
      const l = s.latency[phase];
      const cells = (side) => ['p50', 'p95', 'p99'].map((p) => l[p][side]).join(' / ');
      row(
        `latency submit→${phase === 'toStart' ? 'start' : 'complete'} at 1,000/s, c=50 (p50/p95/p99 ms)`,
        cells('ours'),
        `BullMQ ${cells('bullmq')}`,
        phase === 'toStart' ? `p99 ${fmtRatio(s.latency.p99StartRatio)}` : '',
        phase === 'toStart' ? 'target p99 ≤ BullMQ (ratio ≤ 1)' : '',
      );
    }
  }
  const c50 = (s.drain ?? []).find((d) => d.concurrency === 50 && !d.retained);
  const c50r = (s.drain ?? []).find((d) => d.concurrency === 50 && d.retained);
  if (c50) {
    const m = (rows, side, key) => median(rows.runs[side].map((r) => r[key]));
    const pairRow = (label, rows, key, scale, digits, note) => {
      const ours = rows.runs.ours.map((r) => r[key] / scale);
      const anchor = rows.runs.bullmq.map((r) => r[key] / scale);
      const sum = summarize(ours, anchor);
      row(label, fmt(sum.ours.median, digits), `BullMQ ${fmt(sum.anchor.median, digits)}`, fmtRatio(sum.ratio), note);
    };
    pairRow('Redis bytes per waiting task', c50, 'redisBytesPerWaiting', 1, 0, 'target ≤ 0.8×');
    if (c50r) pairRow('Redis bytes per retained finished task', c50r, 'redisBytesPerRetained', 1, 0, '');
    pairRow('worker peak RSS during the 20k drain, c=50 (MiB)', c50, 'workerPeakRssBytes', 1024 * 1024, 1, '');
    pairRow('worker CPU per task, c=50 (µs)', c50, 'workerCpuUsPerTask', 1, 1, 'target ≤ 0.4×');
    pairRow('Redis CPU per task, c=50 (µs)', c50, 'redisCpuUsPerTask', 1, 1, '');
    void m;
  }
  return lines.join('\n');
}

async function main() {
  if (!fs.existsSync(path.join(DIST, 'apps/worker/main.js'))) {
    throw new Error(`no build in ${DIST}: run \`npm run bench\` (it builds and copies dist/ there first)`);
  }
  const started = Date.now();
  results.date = new Date().toISOString().slice(0, 10);
  results.machine = `${os.cpus().length}× ${os.cpus()[0].model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${require('node:child_process').execFileSync('redis-server', ['--version']).toString().split(' ')[2]}`;
  results.command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  results.pairs = PAIRS;
  if (run('results')) {
    const version = await require('./scenarios/results').postgresVersion();
    results.postgres = version;
  }
  const redis = await startRedis();
  try {
    if (run('drain')) await drainScenarios(redis);
    if (run('enqueue')) await enqueueScenarios(redis);
    if (run('http')) await httpScenarios(redis);
    if (run('latency')) await latencyScenario(redis);
    if (run('results')) await resultsScenario(redis);
    if (run('sourcemaps')) await sourceMapsScenario(redis);
    if (run('httpworker')) await httpWorkerScenario(redis);
    if (runNamed('soak')) await soakScenario(redis);
  } finally {
    await redis.stop();
  }
  if (run('aof')) await aofScenario();
  if (run('cluster')) await clusterScenario();
  results.seconds = Math.round((Date.now() - started) / 1000);
  if (results.scenarios.soak) {
    const md = `${soakTable()}\n`;
    log(`\n${md}`);
    if (!args['no-write']) {
      const dir = path.join(ROOT, 'bench/results');
      fs.mkdirSync(dir, { recursive: true });
      const { date, machine, command } = results;
      fs.writeFileSync(
        path.join(dir, 'soak.json'),
        `${JSON.stringify({ date, machine, command, ...results.scenarios.soak }, null, 2)}\n`,
      );
      fs.writeFileSync(path.join(dir, 'soak.md'), md);
    }
    // Kept out of the main table: a pass/fail with its figures, not taskq against an anchor.
    delete results.scenarios.soak;
    if ([...ONLY].every((name) => name === 'soak')) return;
  }
  if (results.scenarios.results) {
    const md = `${resultsTable()}\n`;
    log(`\n${md}`);
    if (!args['no-write']) {
      const dir = path.join(ROOT, 'bench/results');
      fs.mkdirSync(dir, { recursive: true });
      const { date, machine, command, pairs: runPairs, postgres } = results;
      const record = { date, machine, command, pairs: runPairs, postgres, results: results.scenarios.results };
      fs.writeFileSync(path.join(dir, 'results-store.json'), `${JSON.stringify(record, null, 2)}\n`);
      fs.writeFileSync(path.join(dir, 'results-store.md'), md);
    }
    // Kept out of the main table: it compares two taskq backends, not taskq with an anchor.
    delete results.scenarios.results;
    if (ONLY && [...ONLY].every((name) => name === 'results')) return;
  }
  if (results.scenarios.sourceMaps) {
    const md = `${sourceMapsTable()}\n`;
    log(`\n${md}`);
    if (!args['no-write']) {
      const dir = path.join(ROOT, 'bench/results');
      fs.mkdirSync(dir, { recursive: true });
      const { date, machine, command, pairs: runPairs } = results;
      const record = { date, machine, command, pairs: runPairs, sourceMaps: results.scenarios.sourceMaps };
      fs.writeFileSync(path.join(dir, 'source-maps.json'), `${JSON.stringify(record, null, 2)}\n`);
      fs.writeFileSync(path.join(dir, 'source-maps.md'), md);
    }
    // Kept out of the main table: it compares the worker with itself, not taskq with an anchor.
    delete results.scenarios.sourceMaps;
    if (ONLY && [...ONLY].every((name) => name === 'sourcemaps')) return;
  }
  if (results.scenarios.httpWorker) {
    const md = `${httpWorkerTable()}\n`;
    log(`\n${md}`);
    if (!args['no-write']) {
      const dir = path.join(ROOT, 'bench/results');
      fs.mkdirSync(dir, { recursive: true });
      const { date, machine, command, pairs: runPairs } = results;
      const record = { date, machine, command, pairs: runPairs, httpWorker: results.scenarios.httpWorker };
      fs.writeFileSync(path.join(dir, 'http-worker.json'), `${JSON.stringify(record, null, 2)}\n`);
      fs.writeFileSync(path.join(dir, 'http-worker.md'), md);
    }
    // Kept out of the main table: it compares two kinds of taskq worker, not taskq with an anchor.
    delete results.scenarios.httpWorker;
    if (ONLY && [...ONLY].every((name) => name === 'httpworker')) return;
  }
  const classic = CLASSIC.some(run);
  const md = `${table()}\n\nTotal bench time: ${results.seconds} s.\n`;
  if (classic) log(`\n${md}`);
  const clusterMd = results.scenarios.cluster
    ? `${clusterTable()}\n\nCluster scenario time: ${results.scenarios.cluster.seconds} s.\n`
    : '';
  if (clusterMd) log(`\n${clusterMd}`);
  if (!args['no-write']) {
    const dir = path.join(ROOT, 'bench/results');
    fs.mkdirSync(dir, { recursive: true });
    // latest.* is the taskq-vs-anchor set; the cluster comparison has files of its own, so a run of
    // only one of them leaves the other's results as they were.
    if (classic) {
      fs.writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
      fs.writeFileSync(path.join(dir, 'latest.md'), md);
      fs.writeFileSync(
        path.join(dir, 'latest.svg'),
        ratioChart(`taskq vs its anchors, ${results.date} (\`${results.command}\`)`, chartRows),
      );
    }
    if (clusterMd) {
      const { date, machine, command, pairs: rounds, scenarios } = results;
      const json = { date, machine, command, pairs: rounds, ...scenarios.cluster };
      fs.writeFileSync(path.join(dir, 'cluster.json'), `${JSON.stringify(json, null, 2)}\n`);
      fs.writeFileSync(path.join(dir, 'cluster.md'), clusterMd);
    }
  }
}

main().then(
  // A failed pass/fail scenario (the soak) set the exit code.
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
