--[[
  Cancels a task that has not finished: it leaves its home (scheduled, queued, retrying or active)
  for `cancelled`, never to run (again). An active task's lease goes with it, so the run can write
  no outcome afterwards, and the worker holding it is told on the cancel channel (it aborts the
  run's signal; its heartbeat would notice the lost lease too).

  An active task's run is appended to its attempt history (outcome 'cancelled'). Finished mode
  'expire' keeps the hash `retention` seconds in the cancelled index (by its expiry, see sweepFinished); 'archive' (RESULTS_BACKEND=
  postgres) keeps it, without a TTL, in `archive` until the archiver has written it.

  KEYS[1] scheduled   KEYS[2] queued   KEYS[3] retrying   KEYS[4] active   KEYS[5] cancelled index
  KEYS[6] archive   KEYS[7] throughput (per-minute outcome counts)   KEYS[8] meta (ready_stale)
  ARGV[1] task key prefix   ARGV[2] id   ARGV[3] retention seconds (0 = delete now; 'expire' only)
  ARGV[4] cancel channel (PUBLISH '<id> <lease token>' when the task was active)
  ARGV[5] finished mode: 'expire' or 'archive'

  Returns { 1, previous status }; { -1 } when the task does not exist; { -2, status } when it has
  finished already (succeeded, dead or cancelled).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local id = strArg(ARGV[2], 'id')
local key = prefix .. id
local ttl = intArg(ARGV[3], 'retention seconds', 0)
local channel = strArg(ARGV[4], 'cancel channel')
local archive = oneOfArg(ARGV[5], 'finished mode', FINISHED_MODES) == 'archive'

local f = redis.call('HMGET', key, 'status', 'lease')
local status = f[1]
if not status then return { CODE.NOT_FOUND } end
local homes = { scheduled = KEYS[1], queued = KEYS[2], retrying = KEYS[3], active = KEYS[4] }
local home = homes[status]
if not home then return { CODE.WRONG_STATE, status } end

local now = nowMs()
-- A queued task not in the queued set waits in the ready list: its entry stays there, a tombstone
-- (see the prelude's ready lane).
if redis.call('ZREM', home, id) == 0 and status == 'queued' then
  addReadyStale(KEYS[8], 1)
  redis.call('HSET', key, 'tombstones', 1)
end
onFinished(key, id)
if status == 'active' and f[2] then
  redis.call('PUBLISH', channel, id .. ' ' .. f[2])
  appendAttempt(key, 'cancelled', now, workerOf(f[2]), nil)
end
if archive then
  redis.call('HSET', key, 'status', 'cancelled', 'cancelled_at', int(now), 'finished_at', int(now))
  redis.call('HDEL', key, 'lease', 'watched')
  toArchive(KEYS[6], key, id, now)
elseif ttl <= 0 then
  redis.call('DEL', key)
else
  redis.call('HSET', key, 'status', 'cancelled', 'cancelled_at', int(now), 'finished_at', int(now))
  redis.call('HDEL', key, 'lease', 'watched')
  redis.call('ZADD', KEYS[5], int(now + ttl * 1000), id)
end
sweepFinished(KEYS[5], prefix, now, 100)
countOutcome(KEYS[7], 'c', now, 1)
return { 1, status }
