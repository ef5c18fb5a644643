-- A task submitted with unique_for_ms holds a uniqueness lock while it is unfinished. Its row keeps the
-- lock's key and window, so a retry that brings the task back from the history takes the lock again
-- (or is refused while another unfinished task holds it).

-- Up Migration
ALTER TABLE task_results ADD COLUMN unique_lock text, ADD COLUMN unique_for_ms integer;

-- Down Migration
ALTER TABLE task_results DROP COLUMN unique_lock, DROP COLUMN unique_for_ms;
