--[[
  Puts a schedule written by a version without the schedule index into its queue's index, if it is
  still the active schedule of that id and name (a schedule deleted or renamed meanwhile is not
  brought back). Run once per deployment over the name index (ScheduleStore.ensureIndexed).

  KEYS[1] schedule hash   KEYS[2] the queue's schedule index
  ARGV[1] schedule id   ARGV[2] its name (from the name index)

  Returns 1 when it is indexed, 0 when there is no such active schedule.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[1], 'schedule id')
local name = strArg(ARGV[2], 'name')
local f = redis.call('HMGET', KEYS[1], 'id', 'name', 'rev', 'pending')
if f[1] ~= id or f[2] ~= name or not f[3] or f[4] then return 0 end
redis.call('ZADD', KEYS[2], 0, name .. ' ' .. id)
return 1
