-- The PostgreSQL result store (RESULTS_BACKEND=postgres): one row per finished task, written behind by
-- the workers' archivers (apps/worker/src/results/result-archiver.ts) and read by GET /tasks and
-- GET /tasks/{id} (libs/results). Applied by `npm run migrate` (node-pg-migrate); never by hand.

-- Up Migration
CREATE TABLE task_results (
  -- "C" collation: byte order, the cheapest, and the same wherever the database was created.
  id               text COLLATE "C" PRIMARY KEY,
  queue            text COLLATE "C" NOT NULL,
  task_type        text COLLATE "C" NOT NULL,
  status           text NOT NULL CHECK (status IN ('succeeded', 'dead', 'cancelled')),
  priority         integer NOT NULL,
  attempts         integer NOT NULL,
  max_retries      integer NOT NULL,
  timeout_ms       integer NOT NULL,
  recoveries       integer NOT NULL,
  -- JSON text exactly as Redis held it: nothing is re-encoded on the way (a 2^64 stays a 2^64).
  payload          text NOT NULL,
  result           text,
  last_error       text,
  dead_reason      text,
  schedule_id      text,
  -- [{attempt, started_at, finished_at (epoch ms), worker, outcome, error}], oldest first.
  attempts_history jsonb NOT NULL DEFAULT '[]',
  created_at       timestamptz NOT NULL,
  started_at       timestamptz,
  finished_at      timestamptz NOT NULL,
  cancelled_at     timestamptz,
  next_run_at      timestamptz,
  -- The Redis hash's revision this row was written from: a replay (same rev) changes nothing, and an
  -- older revision never overwrites a newer one.
  rev              integer NOT NULL,
  archived_at      timestamptz NOT NULL DEFAULT now()
);

-- Keyset pagination, newest finish first: every listing is ORDER BY finished_at DESC, id DESC with
-- equality filters in front. A listing by queue or task type without a status reads the three status
-- ranges of the same index and merges them (see libs/results/src/task-history.ts).
CREATE INDEX task_results_finished ON task_results (finished_at, id);
CREATE INDEX task_results_status_finished ON task_results (status, finished_at, id);
CREATE INDEX task_results_queue_status_finished ON task_results (queue, status, finished_at, id);
CREATE INDEX task_results_type_status_finished ON task_results (task_type, status, finished_at, id);

-- Down Migration
DROP TABLE task_results;
