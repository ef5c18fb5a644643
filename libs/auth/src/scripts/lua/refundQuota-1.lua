--[[
  Gives back what reserveQuota took for a request that then wrote nothing (refused, or Redis
  refused the write). A counter that drops to nothing is deleted, so a refused request leaves the
  database as it found it.

  KEYS[1] the subject's quota counter (HASH: tasks, bytes)
  ARGV[1] tasks   ARGV[2] payload bytes

  Returns 1.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local tasks = intArg(ARGV[1], 'tasks', 0)
local bytes = intArg(ARGV[2], 'bytes', 0)
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
-- Nothing to give back of a count is not sent as an increment: Lua writes -0 as '-0', which Redis
-- refuses as an integer.
local function giveBack(field, n)
  if n == 0 then return tonumber(redis.call('HGET', KEYS[1], field)) or 0 end
  return redis.call('HINCRBY', KEYS[1], field, -n)
end
local leftTasks = giveBack('tasks', tasks)
local leftBytes = giveBack('bytes', bytes)
if leftTasks <= 0 and leftBytes <= 0 then redis.call('DEL', KEYS[1]) end
return 1
