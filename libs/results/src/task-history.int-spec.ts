import type { Pool } from 'pg';
import { TestDatabase } from '@app/testing';
import { createPool } from './pg-pool.provider';
import { HistoryQuery, listSql, TaskHistory } from './task-history';

const ROWS = 100_000;
const QUEUES = ['alpha', 'beta', 'gamma'];
const TYPES = ['echo', 'email', 'resize', 'report'];
const STATUSES = ['succeeded', 'succeeded', 'succeeded', 'dead', 'cancelled'];
/** Rows share a finish millisecond ten at a time: the id must break every tie. */
const BASE_MS = Date.parse('2030-01-01T00:00:00Z');

/**
 * The read side on a real PostgreSQL with 100k rows made by generate_series: keyset pages over every
 * filter combination cover exactly the matching rows, newest first, without a gap or a duplicate,
 * also while newer rows arrive between pages.
 */
// Paging 100k rows under every filter is a lot of queries on a shared 2-core machine: a hang guard, not a speed bound.
jest.setTimeout(120_000);

describe('TaskHistory on 100k rows', () => {
  let db: TestDatabase;
  let pool: Pool;
  let history: TaskHistory;

  beforeAll(async () => {
    db = await TestDatabase.create('history');
    await db.sql.query(
      `INSERT INTO task_results (id, queue, task_type, status, priority, attempts, max_retries, timeout_ms,
         recoveries, payload, result, created_at, finished_at, rev)
       SELECT q.name || '.' || md5(n::text)::uuid, q.name, t.name, s.name, 0, 1, 3, 1000, 0,
         json_build_object('n', n)::text, json_build_object('n', n)::text,
         $1::timestamptz + make_interval(secs => (n / 10) / 1000.0),
         $1::timestamptz + make_interval(secs => (n / 10) / 1000.0), 1
       FROM generate_series(1, ${ROWS}) AS n,
         LATERAL (SELECT ($2::text[])[1 + n % 3] AS name) AS q,
         LATERAL (SELECT ($3::text[])[1 + (n / 3) % 4] AS name) AS t,
         LATERAL (SELECT ($4::text[])[1 + (n / 7) % 5] AS name) AS s`,
      [new Date(BASE_MS).toISOString(), QUEUES, TYPES, STATUSES],
    );
    // Errors to search: a common one, a rare one, and LIKE's wildcards taken literally.
    await db.sql.query(
      `UPDATE task_results SET
         last_error = CASE
           WHEN n % 1000 = 0 THEN 'disk 100% full at ' || n
           WHEN n % 1000 = 1 THEN 'disk 1000 full at ' || n
           WHEN n % 100 = 0 THEN 'connect ECONNREFUSED 10.0.0.' || (n % 250)
           WHEN n = 4242 THEN 'Kaboom-Unique in step a_b'
           ELSE NULL END,
         dead_reason = CASE WHEN status = 'dead' THEN (ARRAY['max_retries', 'timeout'])[1 + n % 2] END
       FROM (SELECT id AS row_id, row_number() OVER (ORDER BY id) AS n FROM task_results) AS numbered
       WHERE id = row_id`,
    );
    await db.sql.query('ANALYZE task_results');
    pool = (await createPool({
      backend: 'postgres',
      databaseUrl: db.url,
      poolMax: 2,
      statementTimeoutMs: 10_000,
      applicationName: 'int-test',
    }))!;
    history = new TaskHistory(pool);
  }, 120_000);
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  /** Every id the filter matches, newest first (what paging must return), straight from SQL. */
  async function expected(where: string, params: unknown[] = []): Promise<string[]> {
    const { rows } = await db.sql.query(
      `SELECT id FROM task_results ${where ? `WHERE ${where}` : ''} ORDER BY finished_at DESC, id DESC`,
      params,
    );
    return rows.map((r) => r.id as string);
  }

  async function pageThrough(query: Omit<HistoryQuery, 'cursor'>, between?: (page: number) => Promise<void>) {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await history.list({ ...query, cursor });
      ids.push(...page.tasks.map((t) => t.id));
      pages++;
      expect(page.tasks.length).toBeLessThanOrEqual(query.limit);
      if (!page.nextCursor) return { ids, pages };
      cursor = page.nextCursor;
      await between?.(pages);
    }
  }

  it('pages through all 100k rows, newest first, with no gap and no duplicate', async () => {
    const { ids, pages } = await pageThrough({ limit: 1000 });
    expect(pages).toBe(ROWS / 1000);
    expect(new Set(ids).size).toBe(ROWS);
    expect(ids).toEqual(await expected(''));
  });

  it('pages each filter combination exactly', async () => {
    const cases: [Omit<HistoryQuery, 'cursor' | 'limit'>, string, unknown[]][] = [
      [{ queue: 'beta' }, 'queue = $1', ['beta']],
      [{ queue: 'beta', status: 'dead' }, 'queue = $1 AND status = $2', ['beta', 'dead']],
      [{ taskType: 'email' }, 'task_type = $1', ['email']],
      [{ status: 'cancelled' }, 'status = $1', ['cancelled']],
      [
        { queue: 'alpha', taskType: 'report', status: 'succeeded' },
        'queue = $1 AND task_type = $2 AND status = $3',
        ['alpha', 'report', 'succeeded'],
      ],
      [
        { since: BASE_MS + 1000, until: BASE_MS + 3000 },
        'finished_at >= $1 AND finished_at < $2',
        [new Date(BASE_MS + 1000), new Date(BASE_MS + 3000)],
      ],
      [
        { queue: 'gamma', since: BASE_MS + 5000 },
        'queue = $1 AND finished_at >= $2',
        ['gamma', new Date(BASE_MS + 5000)],
      ],
    ];
    for (const [filter, where, params] of cases) {
      const want = await expected(where, params);
      expect(want.length).toBeGreaterThan(0);
      const { ids } = await pageThrough({ ...filter, limit: 777 });
      expect([filter, ids.length, ids]).toEqual([filter, want.length, want]);
    }
  });

  it('is not shifted by rows archived between pages (they finished later: they sort before the first page)', async () => {
    const want = await expected('queue = $1', ['alpha']);
    let added = 0;
    const { ids } = await pageThrough({ queue: 'alpha', limit: 5000 }, async () => {
      await db.sql.query(
        `INSERT INTO task_results (id, queue, task_type, status, priority, attempts, max_retries, timeout_ms,
           recoveries, payload, created_at, finished_at, rev)
         SELECT 'alpha.' || gen_random_uuid(), 'alpha', 'echo', 'succeeded', 0, 1, 3, 1000, 0, 'null', $1, $1, 1
         FROM generate_series(1, 50)`,
        [new Date(BASE_MS + 86_400_000 + added)],
      );
      added += 50;
    });
    expect(added).toBeGreaterThan(0);
    expect(ids).toEqual(want);
  });

  it('searches by id prefix, last error and dead reason, case-insensitive, with every filter, paged exactly', async () => {
    const text = `(coalesce(last_error, '') || E'\\n' || coalesce(dead_reason, ''))`;
    const cases: [Omit<HistoryQuery, 'cursor' | 'limit'>, string, unknown[]][] = [
      [{ search: 'econnREFUSED' }, `${text} ILIKE $1`, ['%econnrefused%']],
      [{ search: 'econnrefused', queue: 'beta' }, `queue = $1 AND ${text} ILIKE $2`, ['beta', '%econnrefused%']],
      [{ search: 'ECONNREFUSED', status: 'dead' }, `status = $1 AND ${text} ILIKE $2`, ['dead', '%econnrefused%']],
      [{ search: 'max_retr', taskType: 'email' }, `task_type = $1 AND dead_reason = $2`, ['email', 'max_retries']],
      // Wildcards are literal: 100% matches "100% full", not "1000 full".
      [{ search: '100% full' }, `last_error LIKE $1`, ['disk 100\\% full%']],
      [{ search: 'a_b' }, `last_error LIKE $1`, ['%a\\_b%']],
      [{ search: 'gamma.1' }, `id LIKE $1`, ['gamma.1%']],
      [
        { search: 'GAMMA.1', since: BASE_MS + 1000 },
        `id LIKE $1 AND finished_at >= $2`,
        ['gamma.1%', new Date(BASE_MS + 1000)],
      ],
    ];
    for (const [filter, where, params] of cases) {
      const want = await expected(where, params);
      expect(want.length).toBeGreaterThan(0);
      const { ids } = await pageThrough({ ...filter, limit: 333 });
      expect([filter, ids.length, ids]).toEqual([filter, want.length, want]);
    }
    const [id] = await expected(`last_error = $1`, ['Kaboom-Unique in step a_b']);
    expect((await history.list({ search: 'kaboom-unique', limit: 10 })).tasks.map((t) => t.id)).toEqual([id]);
    // A whole id is that task alone (not the other tasks whose error might quote it).
    expect((await history.list({ search: id.toUpperCase(), limit: 10 })).tasks.map((t) => t.id)).toEqual([id]);
    expect((await history.list({ search: id, status: 'dead', limit: 10 })).tasks.length).toBe(
      (await expected('id = $1 AND status = $2', [id, 'dead'])).length,
    );
  });

  it('reads the trigram index for a rare search text, not every row', async () => {
    const { sql, params } = listSql({ search: 'kaboom-unique', limit: 50 });
    const { rows } = await db.sql.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    expect(JSON.stringify(rows[0]['QUERY PLAN'])).toContain('task_results_search');
  });

  it('reads one task by id, and null for one it does not have', async () => {
    const [id] = await expected('queue = $1 AND status = $2', ['beta', 'succeeded']);
    expect(await history.get(id)).toMatchObject({
      id,
      queue: 'beta',
      status: 'succeeded',
      payload: { n: expect.any(Number) },
      result: { n: expect.any(Number) },
      attemptsHistory: [],
    });
    expect(await history.get('beta.00000000-0000-0000-0000-000000000000')).toBeNull();
  });
});
