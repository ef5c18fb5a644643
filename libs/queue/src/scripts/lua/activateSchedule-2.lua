--[[
  Activates a schedule written pending by saveSchedule (create), once its name is claimed: it stops
  expiring and, when enabled, joins the queue's schedules ZSET, where schedulers find it.

  KEYS[1] schedule hash   KEYS[2] the queue's schedules ZSET
  ARGV[1] schedule id   ARGV[2] schedules channel (PUBLISH the queue name: schedulers look again)

  Returns { 1 } when activated; { -1 } when there is no pending schedule of that id (it expired).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[1], 'schedule id')
local channel = strArg(ARGV[2], 'schedules channel')
local f = redis.call('HMGET', KEYS[1], 'pending', 'enabled', 'next_run_at', 'queue')
if not f[1] then return { -1 } end
redis.call('HDEL', KEYS[1], 'pending')
redis.call('PERSIST', KEYS[1])
if f[2] == '1' and f[3] then redis.call('ZADD', KEYS[2], f[3], id) end
redis.call('PUBLISH', channel, f[4])
return { 1 }
