-- A task's own submit options, shown by GET /tasks/{id} after it left Redis: the caller's unique key
-- (unique_key) and its own retry backoff (in the short form the Redis hash keeps, libs/queue
-- backoff-field.ts); both null when not given.
--
-- Search (GET /tasks?q=): a trigram index over the text q is matched in, the last error and the dead
-- reason, joined by a newline (q holds no control characters, so a match never spans the two). pg_trgm
-- is in PostgreSQL's contrib (Debian's postgresql package, the official image) and a trusted extension:
-- the database's owner may create it. With it, ILIKE '%q%' reads the index instead of every row. The id
-- prefix part of q uses the primary key (COLLATE "C" lets a btree serve LIKE 'prefix%').
-- The index is built in this migration's transaction, holding writes to task_results until it is done
-- (seconds per million rows; the archivers wait and retry meanwhile).

-- Up Migration
ALTER TABLE task_results ADD COLUMN unique_key text, ADD COLUMN backoff text;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX task_results_search ON task_results
  USING gin ((coalesce(last_error, '') || E'\n' || coalesce(dead_reason, '')) gin_trgm_ops);

-- Down Migration
DROP INDEX task_results_search;
ALTER TABLE task_results DROP COLUMN unique_key, DROP COLUMN backoff;
