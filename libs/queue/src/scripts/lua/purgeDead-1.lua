--[[
  Deletes up to `limit` dead tasks (oldest first); the caller repeats until it returns 0,
  so a large purge never blocks Redis for long.

  KEYS[1] dead
  ARGV[1] task key prefix   ARGV[2] limit

  Returns the number deleted.
]]
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[2]))
for i = 1, #popped, 2 do
  redis.call('DEL', ARGV[1] .. popped[i])
end
return #popped / 2
