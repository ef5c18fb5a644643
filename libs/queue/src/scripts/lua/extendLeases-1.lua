--[[
  Heartbeat: extends the leases of all of one worker's active tasks in one call.

  KEYS[1] active
  ARGV[1] task key prefix   ARGV[2] lease ms   ARGV[3..] pairs of id, lease token

  Returns the ids whose lease is no longer the caller's (the worker must stop working on them).
]]
local prefix = ARGV[1]
local deadline = int(nowMs() + tonumber(ARGV[2]))
local lost = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', prefix .. id, 'lease') == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], 'XX', deadline, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
