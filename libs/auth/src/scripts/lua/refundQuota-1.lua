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
local leftTasks = redis.call('HINCRBY', KEYS[1], 'tasks', -tasks)
local leftBytes = redis.call('HINCRBY', KEYS[1], 'bytes', -bytes)
if leftTasks <= 0 and leftBytes <= 0 then redis.call('DEL', KEYS[1]) end
return 1
