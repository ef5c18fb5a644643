--[[
  Deletes up to `limit` dead tasks (oldest first); the caller repeats until it returns less than
  `limit`, so a large purge never blocks Redis for long. A task whose PostgreSQL row is still waiting
  in `archive` keeps its hash until the archiver has written it (see deleteDead).

  KEYS[1] dead   KEYS[2] archive
  ARGV[1] task key prefix   ARGV[2] limit

  Returns the number deleted.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local limit = intArg(ARGV[2], 'limit', 1)
local popped = redis.call('ZPOPMIN', KEYS[1], limit)
for i = 1, #popped, 2 do
  dropDeadHash(KEYS[2], prefix .. popped[i], popped[i])
end
return #popped / 2
