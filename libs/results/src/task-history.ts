import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { FINISHED_STATUSES, FinishedStatus, isTaskId, TASK_ID_SOURCE, TaskRecord } from '@app/queue';
import { ResultStoreError, storeCall } from './errors';
import { PG_POOL } from './results.constants';
import { fromRow, READ_COLUMNS, ResultRow } from './rows';

/**
 * A position in the history order (newest finish first, then higher id): `<finished_at ms>:<task id>`
 * of the last task of the page before. At most 14 digits: a time PostgreSQL and ISO 8601 both take.
 */
export const HISTORY_CURSOR_PATTERN = new RegExp(`^(\\d{1,14}):(${TASK_ID_SOURCE})$`);

export interface HistoryQuery {
  queue?: string;
  status?: FinishedStatus;
  taskType?: string;
  /**
   * Only tasks whose id starts with this text, or whose last error or dead reason contains it,
   * case-insensitive (as matchesSearch in Redis); a whole task id is that task alone.
   */
  search?: string;
  /** Finished at or after (epoch ms). */
  since?: number;
  /** Finished before (epoch ms). */
  until?: number;
  limit: number;
  /** next_cursor of the page before (HISTORY_CURSOR_PATTERN). */
  cursor?: string;
}

export interface HistoryPage {
  tasks: TaskRecord[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

/**
 * The read side of the PostgreSQL result store: one task by id, and keyset pages of finished tasks.
 * Every page is ORDER BY finished_at DESC, id DESC LIMIT n on an index whose leading columns are the
 * page's equality filters (migrations/*_task-results.sql); the cursor is a position, so rows archived
 * meanwhile never shift a page, and no task is shown twice or skipped.
 */
@Injectable()
export class TaskHistory {
  constructor(@Inject(PG_POOL) private readonly pool: Pool | null) {}

  /** True with RESULTS_BACKEND=postgres. */
  get enabled(): boolean {
    return this.pool !== null;
  }

  /** The finished task, or null when the store does not have it. */
  async get(id: string): Promise<TaskRecord | null> {
    const pool = this.requirePool('getTask');
    const { rows } = await storeCall('getTask', () =>
      pool.query<ResultRow>(`SELECT ${READ_COLUMNS} FROM task_results WHERE id = $1`, [id]),
    );
    return rows.length ? fromRow(rows[0]) : null;
  }

  /** The statuses of those of `ids` the store has (a schedule's last task that has left Redis). */
  async statuses(ids: readonly string[]): Promise<Map<string, FinishedStatus>> {
    if (!ids.length) return new Map();
    const pool = this.requirePool('taskStatuses');
    const { rows } = await storeCall('taskStatuses', () =>
      pool.query<{ id: string; status: FinishedStatus }>('SELECT id, status FROM task_results WHERE id = ANY($1)', [
        ids,
      ]),
    );
    return new Map(rows.map((row) => [row.id, row.status]));
  }

  /**
   * Rows per finished status of each of `queues` (what GET /queues shows as succeeded and cancelled with
   * this backend), kept by triggers on task_results as appended changes and summed here: a few rows per
   * queue, never a count of the rows themselves.
   */
  async finishedCounts(queues: readonly string[]): Promise<Map<string, Record<FinishedStatus, number>>> {
    const counts = new Map(
      queues.map((queue) => [queue, { succeeded: 0, dead: 0, cancelled: 0 } as Record<FinishedStatus, number>]),
    );
    if (!queues.length) return counts;
    const pool = this.requirePool('finishedCounts');
    const { rows } = await storeCall('finishedCounts', () =>
      pool.query<{ queue: string; status: FinishedStatus; n: string }>(
        'SELECT queue, status, sum(n) AS n FROM task_counts WHERE queue = ANY($1) GROUP BY queue, status',
        [queues],
      ),
    );
    for (const row of rows) {
      const queue = counts.get(row.queue);
      if (queue && row.status in queue) queue[row.status] = Number(row.n);
    }
    return counts;
  }

  async list(query: HistoryQuery): Promise<HistoryPage> {
    const pool = this.requirePool('listTasks');
    const { sql, params } = listSql(query);
    const { rows } = await storeCall('listTasks', () => pool.query<ResultRow>(sql, params));
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      tasks: page.map(fromRow),
      nextCursor: rows.length > query.limit ? `${last.finished_at.getTime()}:${last.id}` : null,
    };
  }

  private requirePool(op: string): Pool {
    if (!this.pool) {
      throw new ResultStoreError('not_configured', op, 'task history needs RESULTS_BACKEND=postgres');
    }
    return this.pool;
  }
}

/** LIKE's wildcards and escape character, taken literally. */
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The search text the trigram index covers (migrations/*_task-options-and-search.sql): the same
 * expression, or the planner cannot use the index.
 */
export const SEARCH_TEXT = `(coalesce(last_error, '') || E'\\n' || coalesce(dead_reason, ''))`;

/** A whole id is one primary-key lookup; other text an id prefix (the primary key) or a trigram match. */
function searchCondition(search: string, param: (value: unknown) => string): string {
  const lower = search.toLowerCase();
  if (isTaskId(lower)) return `id = ${param(lower)}`;
  return `(id LIKE ${param(`${likeLiteral(lower)}%`)} OR ${SEARCH_TEXT} ILIKE ${param(`%${likeLiteral(search)}%`)})`;
}

/**
 * The page's SQL. A queue or task type without a status is three ranges of the (queue|task_type,
 * status, finished_at, id) index, one per finished status, merged by the outer ORDER BY (a Merge Append
 * reading at most limit + 1 rows of each): PostgreSQL 15 cannot skip over the status column itself.
 */
export function listSql(query: HistoryQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (query.queue !== undefined) where.push(`queue = ${param(query.queue)}`);
  if (query.taskType !== undefined) where.push(`task_type = ${param(query.taskType)}`);
  if (query.search !== undefined) where.push(searchCondition(query.search, param));
  if (query.since !== undefined) where.push(`finished_at >= ${param(new Date(query.since).toISOString())}`);
  if (query.until !== undefined) where.push(`finished_at < ${param(new Date(query.until).toISOString())}`);
  if (query.cursor !== undefined) {
    const match = HISTORY_CURSOR_PATTERN.exec(query.cursor);
    if (!match) throw new Error(`not a history cursor: ${query.cursor}`);
    where.push(`(finished_at, id) < (${param(new Date(Number(match[1])).toISOString())}, ${param(match[2])})`);
  }
  const limit = param(query.limit + 1);
  const order = `ORDER BY finished_at DESC, id DESC LIMIT ${limit}`;
  const select = (conditions: string[]) =>
    `SELECT ${READ_COLUMNS} FROM task_results${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''} ${order}`;

  if (query.status !== undefined) return { sql: select([...where, `status = ${param(query.status)}`]), params };
  if (query.queue === undefined && query.taskType === undefined) return { sql: select(where), params };
  const parts = FINISHED_STATUSES.map((status) => `(${select([...where, `status = '${status}'`])})`);
  return { sql: `SELECT * FROM (${parts.join(' UNION ALL ')}) AS page ${order}`, params };
}
