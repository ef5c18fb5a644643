import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { ArchivedTask, isFinishedStatus } from '@app/queue';
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
   */
  mayCommit?: () => boolean;
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

/** A dead task requeued lives in Redis again: its row goes, unless a newer revision is written already. */
const REMOVE = `
  DELETE FROM task_results AS t
  USING json_to_recordset($1::json) AS r(id text, rev integer)
  WHERE t.id = r.id AND t.rev < r.rev`;

/** Retention: one short statement per batch; rows another transaction holds are skipped, never waited on. */
const DELETE_OLD = `
  DELETE FROM task_results WHERE id IN (
    SELECT id FROM task_results WHERE finished_at < $1 ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`;

/** The write side of the PostgreSQL result store: batches from the archivers, and retention. */
@Injectable()
export class ResultStore {
  constructor(@Inject(PG_POOL) private readonly pool: Pool | null) {}

  get enabled(): boolean {
    return this.pool !== null;
  }

  /**
   * Writes a batch in one transaction: finished tasks upserted, requeued ones' rows removed. Either
   * all of it is committed or none (then nothing may be dropped from Redis).
   */
  async write(tasks: readonly ArchivedTask[], options: WriteOptions = {}): Promise<WriteOutcome> {
    const finished = tasks.filter((task) => isFinishedStatus(task.record.status));
    const live = tasks.filter((task) => !isFinishedStatus(task.record.status));
    return this.transaction('write', async (client) => {
      let written = 0;
      if (finished.length) {
        written = (await client.query(UPSERT, [JSON.stringify(finished.map(toRow))])).rowCount ?? 0;
      }
      let removed = 0;
      if (live.length) {
        const keys = live.map((task) => ({ id: task.record.id, rev: task.rev }));
        removed = (await client.query(REMOVE, [JSON.stringify(keys)])).rowCount ?? 0;
      }
      if (options.mayCommit && !options.mayCommit()) {
        throw new ResultStoreError('failed', 'write', 'the batch lease ran out before COMMIT; rolled back');
      }
      return { written, replayed: finished.length - written, removed };
    });
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
