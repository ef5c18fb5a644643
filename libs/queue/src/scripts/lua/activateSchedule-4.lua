--[[
  Activates a schedule written pending by saveSchedule (create), once its name is claimed: it stops
  expiring, joins the queue's schedule index (by name) and, when enabled, the queue's schedules ZSET,
  where schedulers find it. Refused in a queue without its registration mark (forgotten meanwhile: the
  caller registers the queue again and retries) and past MAX_SCHEDULES schedules in the queue.

  KEYS[1] schedule hash   KEYS[2] the queue's schedules ZSET   KEYS[3] the queue's seq (registration mark)
  KEYS[4] the queue's schedule index (ZSET, score 0, member "<name> <schedule id>")
  ARGV[1] schedule id   ARGV[2] schedules channel (PUBLISH the queue name: schedulers look again)
  ARGV[3] most schedules the queue may hold (0 = no cap)

  Returns { 1 } when activated; { -1 } when there is no pending schedule of that id (it expired);
  { -9 } when the queue has no registration mark; { -5, schedules in the queue } at the cap. Nothing
  is written unless it returns 1.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[1], 'schedule id')
local channel = strArg(ARGV[2], 'schedules channel')
local max = intArg(ARGV[3], 'max schedules', 0)
local f = redis.call('HMGET', KEYS[1], 'pending', 'enabled', 'next_run_at', 'queue', 'name')
if not f[1] then return { CODE.NOT_FOUND } end
if redis.call('EXISTS', KEYS[3]) == 0 then return { CODE.UNREGISTERED } end
local count = redis.call('ZCARD', KEYS[4])
if max > 0 and count >= max then return { CODE.LIMIT_REACHED, count } end
redis.call('HDEL', KEYS[1], 'pending')
redis.call('PERSIST', KEYS[1])
redis.call('ZADD', KEYS[4], 0, f[5] .. ' ' .. id)
if f[2] == '1' and f[3] then redis.call('ZADD', KEYS[2], f[3], id) end
redis.call('PUBLISH', channel, f[4])
return { 1 }
