--[[
  Brings a finished task that has left Redis back from its PostgreSQL row (RESULTS_BACKEND=postgres;
  POST /tasks/{id}/retry): its hash is written again from the row's fields, `queued` with attempts and
  recoveries reset and its attempt history kept, under the same id. The caller holds the row's revision
  lock (libs/results ResultStore.restore) and passes a revision newer than any written; the task also
  goes into `archive` with it, so an archiver removes the row should the caller's own removal not land.
  A task submitted with unique_for_ms takes its uniqueness lock again (refused while another unfinished
  task holds it).

  A queue without its registration mark (KEYS[2] seq; forgotten since the task finished) is refused before
  anything is read or written: the caller registers it again and calls again, so the task never lands in
  an unlisted queue.

  KEYS[1] queued   KEYS[2] seq (the registration mark)   KEYS[3] wake list   KEYS[4] archive
  KEYS[5] ready (LIST: the priority-0 lane, see the prelude)
  ARGV[1] task key prefix   ARGV[2] id   ARGV[3] revision   ARGV[4] type   ARGV[5] payload (JSON)
  ARGV[6] priority   ARGV[7] max_retries   ARGV[8] timeout_ms   ARGV[9] created_at (epoch ms)
  ARGV[10] attempt history (JSON array, '' = none)   ARGV[11] last error ('' = none)
  ARGV[12] schedule id ('' = none)   ARGV[13] scheduled_at (epoch ms, '' = none)
  ARGV[14] uniqueness lock key ('' = none)   ARGV[15] unique_for_ms ('' = none)
  ARGV[16] the task's own backoff, as the hash stores it ('' = none: its type's applies)

  Returns { 1 }; { -2, status } when the task is in Redis (it never left, or a concurrent retry brought
  it back): nothing written; { -1 } when only a purged task's revision is left of it (gone);
  { -7, holder } when another unfinished task holds its uniqueness lock; { -9 } when the queue has no
  registration mark: nothing written.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local id = strArg(ARGV[2], 'id')
local key = prefix .. id
local rev = intArg(ARGV[3], 'revision', 1)
local taskType = strArg(ARGV[4], 'type')
local payload = strArg(ARGV[5], 'payload')
local priority = intArg(ARGV[6], 'priority', MIN_PRIORITY, MAX_PRIORITY)
local maxRetries = intArg(ARGV[7], 'max_retries', 0)
local timeoutMs = intArg(ARGV[8], 'timeout_ms', 0)
local createdAt = intArg(ARGV[9], 'created_at', 0)
local history = ARGV[10]
if history ~= '' then
  local ok, decoded = pcall(cjson.decode, history)
  if not ok or type(decoded) ~= 'table' then badArg('attempt history', history, 'a JSON array') end
end
if ARGV[13] ~= '' then intArg(ARGV[13], 'scheduled_at', 0) end
local lock = ARGV[14]
if lock ~= '' then intArg(ARGV[15], 'unique_for_ms', 1) end

if redis.call('EXISTS', KEYS[2]) == 0 then return { CODE.UNREGISTERED } end
if redis.call('EXISTS', key) == 1 then
  local status = redis.call('HGET', key, 'status')
  if not status then return { CODE.NOT_FOUND } end
  return { CODE.WRONG_STATE, status }
end
local holder = uniqueHolder(lock, id, prefix)
if holder then return { CODE.UNIQUE_CONFLICT, holder } end

local now = nowMs()
redis.call('HSET', key,
  'type', taskType, 'payload', payload,
  'status', 'queued', 'created_at', int(createdAt), 'next_run_at', int(now), 'rev', int(rev))
storeRunSettings(key, int(maxRetries), int(timeoutMs))
if priority ~= 0 then redis.call('HSET', key, 'priority', int(priority)) end
if history ~= '' then redis.call('HSET', key, 'history', history) end
if ARGV[11] ~= '' then redis.call('HSET', key, 'last_error', ARGV[11]) end
if ARGV[12] ~= '' then redis.call('HSET', key, 'schedule_id', ARGV[12]) end
if ARGV[13] ~= '' then redis.call('HSET', key, 'scheduled_at', ARGV[13]) end
if ARGV[16] ~= nil and ARGV[16] ~= '' then redis.call('HSET', key, 'backoff', ARGV[16]) end
if lock ~= '' then
  redis.call('HSET', key, 'unique_key', lock, 'unique_for_ms', ARGV[15])
  takeUniqueLock(lock, ARGV[15], id)
end
addQueued(KEYS[1], KEYS[5], priority, redis.call('INCR', KEYS[2]), id)
redis.call('ZADD', KEYS[4], int(now), id)
wake(KEYS[3])
return { 1 }
