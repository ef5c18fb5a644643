--[[
  Removes a name from the name index if it still points at the given schedule (a deleted one), so a
  newer schedule that took the name over keeps it.

  KEYS[1] name index (HASH name → schedule id)
  ARGV[1] name   ARGV[2] schedule id

  Returns 1 when removed, 0 when the name points elsewhere or nowhere.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local name = strArg(ARGV[1], 'name')
local id = strArg(ARGV[2], 'schedule id')
if redis.call('HGET', KEYS[1], name) ~= id then return 0 end
redis.call('HDEL', KEYS[1], name)
return 1
