--[[
  Moves a dead task back to `queued` with its attempts and recoveries reset (its attempt history
  stays). In finished mode 'archive' (RESULTS_BACKEND=postgres) its PostgreSQL row, written at its
  death, no longer holds: the task goes (back) into `archive` with a new revision, and the archiver,
  finding it unfinished, deletes the row. It is written again when the task finishes again.

  KEYS[1] dead   KEYS[2] queued   KEYS[3] seq   KEYS[4] wake list   KEYS[5] archive
  ARGV[1] task key prefix   ARGV[2] id   ARGV[3] finished mode: 'expire' or 'archive'

  Returns { 1 }; { -1 } when the task does not exist; { -2, status } when it exists but is not dead.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[2], 'id')
local key = strArg(ARGV[1], 'task key prefix') .. id
local archive = oneOfArg(ARGV[3], 'finished mode', FINISHED_MODES) == 'archive'
local status = redis.call('HGET', key, 'status')
if not status then return { -1 } end
if not redis.call('ZSCORE', KEYS[1], id) then
  -- Dead but out of the dead-letter queue: deleted, its hash kept only until its row is archived.
  if status == 'dead' then return { -1 } end
  return { -2, status }
end
local now = nowMs()
local priority = tonumber(redis.call('HGET', key, 'priority'))
redis.call('ZREM', KEYS[1], id)
redis.call('ZADD', KEYS[2], queuedScore(priority, redis.call('INCR', KEYS[3])), id)
redis.call('HSET', key, 'status', 'queued', 'attempts', '0', 'recoveries', '0', 'next_run_at', int(now))
redis.call('HDEL', key, 'dead_reason', 'finished_at', 'started_at')
if archive then toArchive(KEYS[5], key, id, now) end
wake(KEYS[4])
return { 1 }
