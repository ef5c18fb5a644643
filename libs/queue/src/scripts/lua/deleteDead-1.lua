--[[
  Deletes one dead task for good.

  KEYS[1] dead
  ARGV[1] task key prefix   ARGV[2] id

  Returns 1; -1 when the task does not exist; -2 when it exists but is not dead.
]]
local key = ARGV[1] .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return -1 end
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return -2 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('DEL', key)
return 1
