-- The newest revision of each task id an archiver (or a retry) has committed, and the lock that orders
-- their writes. Every write of a task first inserts or locks its row here and holds it to COMMIT, so two
-- writes of one task never overlap, and a write older than the newest one changes nothing: a dead task
-- requeued while its death is being written can never leave a `dead` row behind (its removal waits for
-- that write, or the write finds the removal's newer revision). A row whose task has no task_results row
-- is the removal's tombstone. Rows are pruned an hour after their last write (libs/results ResultStore),
-- far longer than any write can be in flight (an archiver commits only within its lease).

-- Up Migration
CREATE TABLE task_revisions (
  id         text COLLATE "C" PRIMARY KEY,
  rev        integer NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_revisions_written ON task_revisions (written_at);

-- Down Migration
DROP TABLE task_revisions;
