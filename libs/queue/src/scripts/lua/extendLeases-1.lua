--[[
  Heartbeat: extends the leases of all of one worker's active tasks in one call.

  KEYS[1] active
  ARGV[1] task key prefix   ARGV[2] lease ms   ARGV[3..] pairs of id, lease token

  Returns the lease tokens that are no longer the task's current lease (the worker must stop those
  runs). Tokens, not ids: one worker can hold an old and a new run of the same task.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local leaseMs = intArg(ARGV[2], 'lease ms', 1)
groupCount(3, 2, 'id/token pairs')
for i = 3, #ARGV, 2 do
  strArg(ARGV[i], 'id')
  strArg(ARGV[i + 1], 'lease token')
end
local deadline = int(nowMs() + leaseMs)
local lost = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', prefix .. id, 'lease') == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], 'XX', deadline, id)
  else
    lost[#lost + 1] = ARGV[i + 1]
  end
end
return lost
