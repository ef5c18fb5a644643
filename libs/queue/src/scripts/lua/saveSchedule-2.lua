--[[
  Writes a schedule's definition. `create` writes a new schedule as pending: it expires after the
  pending TTL unless activateSchedule activates it, which happens once its name is claimed in the
  name index (a separate key in another slot; see schedule-store.ts), so a create that dies half-way
  leaves nothing that fires. `update` rewrites an active schedule if its revision is still the one
  the caller read (compare-and-set): concurrent edits cannot undo each other, and a scheduler that
  read the old revision can no longer fire it (fireSchedule checks the revision too).

  KEYS[1] schedule hash   KEYS[2] the queue's schedules ZSET (enabled schedules by next run)
  ARGV[1] schedule id   ARGV[2] mode: create | update   ARGV[3] expected revision (update; 0 on create)
  ARGV[4] next run: epoch ms; 0 = none (disabled, or no tick left); -1 = keep the stored one (update)
  ARGV[5] pending TTL ms (create)   ARGV[6] schedules channel (PUBLISH the queue name: schedulers look again)
  ARGV[7..19] the definition: name, queue, cron ('' = none), every_ms ('' = none), tz ('' with every_ms),
              task_type, payload (JSON), priority, max_retries, timeout_ms, enabled (1|0),
              missed (skip|catch_up), catch_up_limit

  Returns { 1, revision } when written; { -1 } (update) when there is no active schedule of that id;
  { -2, revision } when the revision differs (update) or the id exists already (create).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[1], 'schedule id')
local mode = oneOfArg(ARGV[2], 'mode', { 'create', 'update' })
local expectedRev = intArg(ARGV[3], 'expected revision', 0)
local nextRun = intArg(ARGV[4], 'next run', -1)
local pendingTtl = intArg(ARGV[5], 'pending TTL ms', 1)
local channel = strArg(ARGV[6], 'schedules channel')
if #ARGV ~= 19 then badArg('definition', #ARGV - 6, '13 fields') end
local name = strArg(ARGV[7], 'name')
local queue = strArg(ARGV[8], 'queue')
local cron, everyMs, tz = ARGV[9], ARGV[10], ARGV[11]
if (cron == '') == (everyMs == '') then badArg('cron/every_ms', cron .. '/' .. everyMs, 'exactly one of them') end
if everyMs ~= '' then intArg(everyMs, 'every_ms', 1000, 31536000000) end
if (cron ~= '') ~= (tz ~= '') then badArg('tz', tz, 'given exactly when cron is') end
strArg(ARGV[12], 'task_type')
strArg(ARGV[13], 'payload')
intArg(ARGV[14], 'priority', MIN_PRIORITY, MAX_PRIORITY)
intArg(ARGV[15], 'max_retries', 0)
intArg(ARGV[16], 'timeout_ms', 1)
local enabled = oneOfArg(ARGV[17], 'enabled', { '1', '0' })
oneOfArg(ARGV[18], 'missed', { 'skip', 'catch_up' })
intArg(ARGV[19], 'catch_up_limit', 1, 1000)
if mode == 'create' and nextRun < 0 then badArg('next run', nextRun, 'an epoch ms or 0 on create') end

local key = KEYS[1]
local current = redis.call('HMGET', key, 'rev', 'pending')
local rev = 1
if mode == 'create' then
  if current[1] then return { CODE.WRONG_STATE, tonumber(current[1]) } end
else
  if not current[1] or current[2] then return { CODE.NOT_FOUND } end
  if tonumber(current[1]) ~= expectedRev then return { CODE.WRONG_STATE, tonumber(current[1]) } end
  rev = expectedRev + 1
end

local now = int(nowMs())
redis.call('HSET', key, 'id', id, 'rev', rev, 'updated_at', now,
  'name', name, 'queue', queue, 'cron', cron, 'every_ms', everyMs, 'tz', tz,
  'task_type', ARGV[12], 'payload', ARGV[13], 'priority', ARGV[14], 'max_retries', ARGV[15],
  'timeout_ms', ARGV[16], 'enabled', enabled, 'missed', ARGV[18], 'catch_up_limit', ARGV[19])
if nextRun > 0 then
  redis.call('HSET', key, 'next_run_at', int(nextRun))
elseif nextRun == 0 then
  redis.call('HDEL', key, 'next_run_at')
end
if mode == 'create' then
  redis.call('HSET', key, 'created_at', now, 'runs', '0', 'pending', '1')
  redis.call('PEXPIRE', key, pendingTtl)
  return { 1, rev }
end
local stored = redis.call('HGET', key, 'next_run_at')
if enabled == '1' and stored then
  redis.call('ZADD', KEYS[2], stored, id)
else
  redis.call('ZREM', KEYS[2], id)
end
redis.call('PUBLISH', channel, queue)
return { 1, rev }
