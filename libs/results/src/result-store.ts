import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { ArchivedTask, isFinishedStatus, RestorableTask } from '@app/queue';
import { ResultStoreError, storeCall } from './errors';
import { PG_POOL } from './results.constants';
import { toRow, WRITE_COLUMNS } from './rows';

export interface WriteOutcome {
  /** Rows inserted or brought up to a newer revision. */
  written: number;
  /** Rows already at that revision or newer (a replayed batch): nothing changed. */
  replayed: number;
  /** Rows removed because their task lives again in Redis (a dead task requeued). */
  removed: number;
}

export interface WriteOptions {
  /**
   * Called just before COMMIT: false rolls the transaction back. The archiver checks that its lease on
   * the batch still holds, so a writer that stalled past it cannot commit an older revision late.
   * Asynchronous for tests, which hold a writer inside its transaction with it.
   */
  mayCommit?: () => boolean | Promise<boolean>;
}

// Timestamps arrive as epoch ms (bigint) and become timestamptz in the SELECT.
const recordType = (type: string) => (type === 'timestamptz' ? 'bigint' : type);
const recordset = `json_to_recordset($1::json) AS r(${WRITE_COLUMNS.map(([name, type]) => `${name} ${recordType(type)}`).join(', ')})`;
const columns = WRITE_COLUMNS.map(([name]) => name).join(', ');
const selected = WRITE_COLUMNS.map(([name, type]) =>
  type === 'timestamptz' ? `to_timestamp(r.${name} / 1000.0) AS ${name}` : `r.${name}`,
).join(', ');
const updates = WRITE_COLUMNS.filter(([name]) => name !== 'id')
  .map(([name]) => `${name} = EXCLUDED.${name}`)
  .join(', ');

/**
 * Idempotent upsert on the task id: an existing row changes only for a newer revision of its hash, so
 * a batch written twice (an archiver died between commit and settle, or its lease ran out) reads the
 * same as once.
 */
const UPSERT = `
  INSERT INTO task_results AS t (${columns})
  SELECT ${selected} FROM ${recordset}
  ON CONFLICT (id) DO UPDATE SET ${updates}, archived_at = now()
  WHERE t.rev < EXCLUDED.rev
  RETURNING t.id`;

/**
 * Every write of a task id first takes the id's row in task_revisions (inserted, or locked even when not
 * updated) and holds it to COMMIT, in id order (no deadlock between two batches). Returns the ids this
 * batch holds a newer revision of than any committed: only those are written. A write of an older or the
 * same revision (a replay), a removal's included, changes nothing; one that overlaps another write of
 * the id waits for it, then sees it. Without this a removal could not see an upsert still in flight
 * (uncommitted), which then committed a row for a task that lives in Redis again.
 */
const LOCK_REVISIONS = `
  INSERT INTO task_revisions AS v (id, rev)
  SELECT id, rev FROM json_to_recordset($1::json) AS r(id text, rev integer) ORDER BY id
  ON CONFLICT (id) DO UPDATE SET rev = EXCLUDED.rev, written_at = now() WHERE v.rev < EXCLUDED.rev
  RETURNING v.id`;

/** A dead task requeued (or a task retried) lives in Redis again: its row goes, unless a newer revision is written already. */
const REMOVE = `
  DELETE FROM task_results AS t
  USING json_to_recordset($1::json) AS r(id text, rev integer)
  WHERE t.id = r.id AND t.rev < r.rev`;

/** Retention: one short statement per batch; rows another transaction holds are skipped, never waited on. */
const DELETE_OLD = `
  DELETE FROM task_results WHERE id IN (
    SELECT id FROM task_results WHERE finished_at < $1 ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`;

/**
 * How long a task's revision row outlives its last write: a write can be in flight only within its
 * archiver's lease (RESULTS_LEASE_MS, checked before COMMIT), so an hour is far beyond any. The row of a
 * task that has a task_results row is a lock only (the row keeps its own revision); a removal's row is
 * what keeps a late write of an older revision out.
 */
export const REVISION_KEEP_MS = 3_600_000;

const PRUNE_REVISIONS = `
  DELETE FROM task_revisions WHERE id IN (
    SELECT id FROM task_revisions WHERE written_at < now() - make_interval(secs => $1 / 1000.0)
    LIMIT $2 FOR UPDATE SKIP LOCKED)`;

/**
 * Folds the appended count changes into one row per queue and status. Concurrent foldings are safe: a
 * row deleted by another one is skipped, and changes appended meanwhile are not deleted here.
 */
const COMPACT_COUNTS = `
  WITH gone AS (DELETE FROM task_counts RETURNING queue, status, n)
  INSERT INTO task_counts (queue, status, n)
  SELECT queue, status, sum(n) FROM gone GROUP BY queue, status HAVING sum(n) <> 0`;

/** The task's revision row, inserted or locked, and the newest revision written of it. */
const LOCK_ONE = `
  INSERT INTO task_revisions AS v (id, rev) VALUES ($1, 0)
  ON CONFLICT (id) DO UPDATE SET rev = v.rev
  RETURNING v.rev`;

const RESTORE_COLUMNS = `task_type, payload, priority, max_retries, timeout_ms, created_at, attempts_history,
  last_error, schedule_id, scheduled_at, unique_lock, unique_for_ms, backoff, rev`;

interface RestoreRow {
  task_type: string;
  payload: string;
  priority: number;
  max_retries: number;
  timeout_ms: number;
  created_at: Date;
  attempts_history: unknown[];
  last_error: string | null;
  schedule_id: string | null;
  scheduled_at: Date | null;
  unique_lock: string | null;
  unique_for_ms: number | null;
  backoff: string | null;
  rev: number;
}

/** The write side of the PostgreSQL result store: batches from the archivers, retries, and retention. */
@Injectable()
export class ResultStore {
  private readonly logger = new Logger(ResultStore.name);

  constructor(@Inject(PG_POOL) private readonly pool: Pool | null) {}

  get enabled(): boolean {
    return this.pool !== null;
  }

  /**
   * Writes a batch in one transaction: finished tasks upserted, requeued ones' rows removed. Either
   * all of it is committed or none (then nothing may be dropped from Redis).
   */
  async write(tasks: readonly ArchivedTask[], options: WriteOptions = {}): Promise<WriteOutcome> {
    const finishedCount = tasks.filter((task) => isFinishedStatus(task.record.status)).length;
    return this.transaction('write', async (client) => {
      const revisions = JSON.stringify(tasks.map((task) => ({ id: task.record.id, rev: task.rev })));
      const { rows } = await client.query<{ id: string }>(LOCK_REVISIONS, [revisions]);
      const current = new Set(rows.map((row) => row.id));
      const finished = tasks.filter((task) => current.has(task.record.id) && isFinishedStatus(task.record.status));
      const live = tasks.filter((task) => current.has(task.record.id) && !isFinishedStatus(task.record.status));
      let written = 0;
      if (finished.length) {
        written = (await client.query(UPSERT, [JSON.stringify(finished.map(toRow))])).rowCount ?? 0;
      }
      let removed = 0;
      if (live.length) {
        const keys = live.map((task) => ({ id: task.record.id, rev: task.rev }));
        removed = (await client.query(REMOVE, [JSON.stringify(keys)])).rowCount ?? 0;
      }
      if (options.mayCommit && !(await options.mayCommit())) {
        throw new ResultStoreError('failed', 'write', 'the batch lease ran out before COMMIT; rolled back');
      }
      return { written, replayed: finishedCount - written, removed };
    });
  }

  /**
   * A retry of a finished task that has left Redis: under the task's revision lock (so no write of it
   * overlaps, and a concurrent retry waits here), reads its row and calls `restore` with what Redis
   * needs to run it again and a revision newer than any written. When `restore` has put the task back
   * (true), the row goes and the revision stays as the removal's, in the same transaction. Returns false
   * when there is no row. Should PostgreSQL fail after `restore`, the task runs anyway: it waits in the
   * archive index with its new revision, and the archiver removes the row (logged here).
   */
  async restore(id: string, restore: (task: RestorableTask) => Promise<boolean>): Promise<boolean> {
    const pool = this.requirePool('retry');
    const client = await storeCall('retry', () => pool.connect());
    let broken = false;
    let restored = false;
    try {
      const row = await storeCall('retry', async () => {
        await client.query('BEGIN');
        const locked = await client.query<{ rev: number }>(LOCK_ONE, [id]);
        const found = await client.query<RestoreRow>(`SELECT ${RESTORE_COLUMNS} FROM task_results WHERE id = $1`, [id]);
        return found.rows.length ? { ...found.rows[0], newest: locked.rows[0].rev } : null;
      });
      if (!row) {
        await storeCall('retry', () => client.query('ROLLBACK'));
        return false;
      }
      const rev = Math.max(row.rev, row.newest) + 1;
      restored = await restore({
        id,
        rev,
        type: row.task_type,
        payloadJson: row.payload,
        priority: row.priority,
        maxRetries: row.max_retries,
        timeoutMs: row.timeout_ms,
        createdAt: row.created_at.getTime(),
        historyJson: JSON.stringify(row.attempts_history ?? []),
        lastError: row.last_error,
        scheduleId: row.schedule_id,
        scheduledAt: row.scheduled_at?.getTime() ?? null,
        uniqueLock: row.unique_lock,
        uniqueForMs: row.unique_for_ms,
        backoff: row.backoff,
      });
      if (!restored) {
        await storeCall('retry', () => client.query('ROLLBACK'));
        return false;
      }
      await storeCall('retry', async () => {
        await client.query('DELETE FROM task_results WHERE id = $1', [id]);
        await client.query('UPDATE task_revisions SET rev = $2, written_at = now() WHERE id = $1', [id, rev]);
        await client.query('COMMIT');
      });
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      if (!restored) throw error;
      this.logger.warn({
        msg: `task retried, but its history row could not be removed now; the archiver removes it: ${(error as Error).message}`,
        taskId: id,
      });
      return true;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Deletes rows finished before `cutoffMs`, `batch` rows per statement, until none is left; each
   * statement is its own short transaction. Returns how many went.
   */
  async deleteFinishedBefore(cutoffMs: number, batch: number): Promise<number> {
    const pool = this.requirePool('retention');
    let total = 0;
    for (;;) {
      const { rowCount } = await storeCall('retention', () =>
        pool.query(DELETE_OLD, [new Date(cutoffMs).toISOString(), batch]),
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
    }
  }

  /** Deletes revision rows older than REVISION_KEEP_MS (`keepMs`), `batch` per statement; returns how many. */
  async pruneRevisions(batch: number, keepMs = REVISION_KEEP_MS): Promise<number> {
    const pool = this.requirePool('pruneRevisions');
    let total = 0;
    for (;;) {
      const { rowCount } = await storeCall('pruneRevisions', () => pool.query(PRUNE_REVISIONS, [keepMs, batch]));
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
    }
  }

  /** Folds the finished counts' appended changes (TaskHistory.finishedCounts reads their sums). */
  async compactCounts(): Promise<void> {
    const pool = this.requirePool('compactCounts');
    await storeCall('compactCounts', () => pool.query(COMPACT_COUNTS));
  }

  /** SELECT 1, for readiness and for the archiver's probe after an outage. */
  async ping(): Promise<void> {
    const pool = this.requirePool('ping');
    await storeCall('ping', () => pool.query('SELECT 1'));
  }

  private async transaction<T>(op: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    const pool = this.requirePool(op);
    return storeCall(op, async () => {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await body(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw error;
      } finally {
        // A connection whose ROLLBACK failed is in an unknown state: close it instead of reusing it.
        client.release(broken);
      }
    });
  }

  private requirePool(op: string): Pool {
    if (!this.pool) throw new ResultStoreError('not_configured', op, 'the result store needs RESULTS_BACKEND=postgres');
    return this.pool;
  }
}
