-- Finished tasks per queue and status in task_results, for GET /queues (counting the rows there would
-- read every one). Triggers append the change of every statement on task_results, in its transaction:
-- the archivers' writes, the removal of a requeued or retried task's row, retention, anything. Appended,
-- never updated, so concurrent writers never wait on a shared counter row; the workers' sweeper folds
-- the deltas into one row per queue and status (ResultStore.compactCounts), and readers sum them.

-- Up Migration
CREATE TABLE task_counts (
  queue  text COLLATE "C" NOT NULL,
  status text NOT NULL,
  n      bigint NOT NULL
);
CREATE INDEX task_counts_queue ON task_counts (queue);

CREATE FUNCTION task_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO task_counts (queue, status, n)
    SELECT queue, status, count(*) FROM new_rows GROUP BY queue, status;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO task_counts (queue, status, n)
    SELECT queue, status, sum(d) FROM (
      SELECT queue, status, -1 AS d FROM old_rows UNION ALL SELECT queue, status, 1 FROM new_rows
    ) AS change GROUP BY queue, status HAVING sum(d) <> 0;
  ELSE
    INSERT INTO task_counts (queue, status, n)
    SELECT queue, status, -count(*) FROM old_rows GROUP BY queue, status;
  END IF;
  RETURN NULL;
END $$;

-- One trigger per event: a trigger with transition tables takes one event only.
CREATE TRIGGER task_counts_insert AFTER INSERT ON task_results
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_change();
CREATE TRIGGER task_counts_update AFTER UPDATE ON task_results
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_change();
CREATE TRIGGER task_counts_delete AFTER DELETE ON task_results
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_change();

-- The rows already there, counted after the triggers exist: CREATE TRIGGER locks out writers until this
-- migration commits, so every row is counted once, here or by a trigger.
INSERT INTO task_counts (queue, status, n) SELECT queue, status, count(*) FROM task_results GROUP BY queue, status;

-- Down Migration
DROP TRIGGER task_counts_delete ON task_results;
DROP TRIGGER task_counts_update ON task_results;
DROP TRIGGER task_counts_insert ON task_results;
DROP FUNCTION task_counts_change();
DROP TABLE task_counts;
