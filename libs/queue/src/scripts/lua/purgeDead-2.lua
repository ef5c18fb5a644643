--[[
  Deletes up to `limit` dead tasks (oldest first); the caller repeats until it returns less than
  `limit`, so a large purge never blocks Redis for long.

  KEYS[1] dead
  ARGV[1] task key prefix   ARGV[2] limit

  Returns the number deleted.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local limit = intArg(ARGV[2], 'limit', 1)
local popped = redis.call('ZPOPMIN', KEYS[1], limit)
for i = 1, #popped, 2 do
  redis.call('DEL', prefix .. popped[i])
end
return #popped / 2
