-- A task enqueued by a schedule carries the tick it runs for (schedule_id is there already), so a
-- run in the history can be traced back to its schedule and tick.

-- Up Migration
ALTER TABLE task_results ADD COLUMN scheduled_at timestamptz;

-- Down Migration
ALTER TABLE task_results DROP COLUMN scheduled_at;
