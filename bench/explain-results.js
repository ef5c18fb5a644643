#!/usr/bin/env node
'use strict';
/**
 * EXPLAIN (ANALYZE, BUFFERS) of the result store's main queries on 1M rows, made with generate_series
 * in a scratch database (created, migrated as `npm run migrate` does, dropped after). The listing SQL
 * comes from libs/results' own builder (listSql), so the plans are those of the code.
 *
 *   node bench/explain-results.js [--rows=1000000] [--out=docs/results-store-explain.md]
 *
 * PostgreSQL: BENCH_POSTGRES_URL or TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');
const { openDatabase, postgresVersion } = require('./scenarios/results');
const { ROOT } = require('./lib/util');

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key, value ?? true];
  }),
);
const ROWS = Number(args.rows ?? 1_000_000);
const OUT = args.out ? path.resolve(ROOT, String(args.out)) : null;

function loadListSql() {
  require('reflect-metadata');
  require('ts-node').register({ transpileOnly: true, project: path.join(ROOT, 'tsconfig.json') });
  const tsconfig = require('tsconfig-paths');
  const config = tsconfig.loadConfig(ROOT);
  tsconfig.register({ baseUrl: config.absoluteBaseUrl, paths: config.paths });
  return require(path.join(ROOT, 'libs/results/src/task-history')).listSql;
}

async function main() {
  const listSql = loadListSql();
  const db = await openDatabase();
  const client = new Client({ connectionString: db.url });
  await client.connect();
  const out = [];
  try {
    // 30 days of history: 3 queues, 6 task types, 90 % succeeded / 8 % dead / 2 % cancelled.
    const started = Date.now();
    await client.query(
      `INSERT INTO task_results (id, queue, task_type, status, priority, attempts, max_retries, timeout_ms,
         recoveries, payload, result, last_error, dead_reason, attempts_history, created_at, started_at,
         finished_at, rev)
       SELECT q || '.' || md5(n::text)::uuid, q, t, s, 0, 1, 3, 60000, 0,
         json_build_object('n', n)::text, CASE WHEN s = 'succeeded' THEN json_build_object('ok', n)::text END,
         CASE WHEN s = 'dead' THEN 'Error: boom' END, CASE WHEN s = 'dead' THEN 'max_retries' END,
         '[{"attempt":1,"outcome":"succeeded"}]'::jsonb, f - interval '2 seconds', f - interval '1 second', f, 1
       FROM (
         SELECT n,
           (ARRAY['default', 'critical', 'low'])[1 + n % 3] AS q,
           (ARRAY['email', 'resize', 'report', 'echo', 'sync', 'webhook'])[1 + (n / 3) % 6] AS t,
           CASE WHEN n % 50 = 0 THEN 'cancelled' WHEN n % 100 < 8 THEN 'dead' ELSE 'succeeded' END AS s,
           now() - make_interval(secs => (n::float8 / $1) * 30 * 86400) AS f
         FROM generate_series(1, $1) AS n) AS g`,
      [ROWS],
    );
    await client.query('VACUUM ANALYZE task_results');
    const { rows: size } = await client.query(
      `SELECT pg_size_pretty(pg_table_size('task_results')) AS t, pg_size_pretty(pg_indexes_size('task_results')) AS i`,
    );
    out.push(
      `# Result store: query plans at ${ROWS.toLocaleString('en-US')} rows`,
      '',
      `\`node bench/explain-results.js\`, ${new Date().toISOString().slice(0, 10)}, PostgreSQL ${await postgresVersion()}: ` +
        `${ROWS.toLocaleString('en-US')} rows over 30 days made with generate_series in ${Math.round((Date.now() - started) / 1000)} s ` +
        `(3 queues, 6 task types, 90 % succeeded, 8 % dead, 2 % cancelled); table ${size[0].t}, indexes ${size[0].i}. ` +
        'The listing SQL is what libs/results/src/task-history.ts (listSql) builds.',
      '',
    );
    // A cursor from the middle of the history, as page N would pass it.
    const { rows: mid } = await client.query(
      `SELECT id, finished_at FROM task_results WHERE queue = 'default' AND status = 'dead'
       ORDER BY finished_at DESC, id DESC OFFSET 5000 LIMIT 1`,
    );
    const cursor = `${mid[0].finished_at.getTime()}:${mid[0].id}`;
    const day = 86_400_000;
    const cases = [
      [
        'GET /tasks?queue=default&status=dead&limit=50 (first page)',
        listSql({ queue: 'default', status: 'dead', limit: 50 }),
      ],
      [
        'GET /tasks?queue=default&status=dead&limit=50&cursor=… (a page deep in the history)',
        listSql({ queue: 'default', status: 'dead', limit: 50, cursor }),
      ],
      ['GET /tasks?queue=default&limit=50 (no status: three ranges merged)', listSql({ queue: 'default', limit: 50 })],
      [
        'GET /tasks?task_type=report&since=…&until=… (one day, a week ago)',
        listSql({ taskType: 'report', since: Date.now() - 8 * day, until: Date.now() - 7 * day, limit: 50 }),
      ],
      ['GET /tasks?status=cancelled&limit=50', listSql({ status: 'cancelled', limit: 50 })],
      ['GET /tasks?limit=50 (everything, newest first)', listSql({ limit: 50 })],
      [
        'GET /tasks/{id} (a task no longer in Redis)',
        { sql: 'SELECT * FROM task_results WHERE id = $1', params: [mid[0].id] },
      ],
      [
        'retention: one batch of RESULTS_RETENTION_DAYS=7 (rolled back here)',
        {
          sql: `DELETE FROM task_results WHERE id IN (SELECT id FROM task_results WHERE finished_at < $1
                ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          params: [new Date(Date.now() - 7 * day).toISOString(), 5000],
        },
      ],
    ];
    for (const [title, { sql, params }] of cases) {
      await client.query('BEGIN');
      const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
      await client.query('ROLLBACK');
      out.push(`## ${title}`, '', '```', ...rows.map((r) => r['QUERY PLAN']), '```', '');
    }
  } finally {
    await client.end();
    await db.drop();
  }
  const text = `${out.join('\n')}`;
  if (OUT) fs.writeFileSync(OUT, text);
  console.log(text);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
