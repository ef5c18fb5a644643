--[[
  Deletes a schedule: its hash, its entry in the queue's schedules ZSET and in the queue's schedule
  index go together, so no scheduler can fire it afterwards and no listing shows it. Its name entry
  (another slot) is removed by the caller after.

  KEYS[1] schedule hash   KEYS[2] the queue's schedules ZSET   KEYS[3] the queue's schedule index
  ARGV[1] schedule id

  Returns { 1, name } when deleted; { -1 } when there is no such schedule.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[1], 'schedule id')
local name = redis.call('HGET', KEYS[1], 'name')
redis.call('ZREM', KEYS[2], id)
if not name then return { CODE.NOT_FOUND } end
redis.call('ZREM', KEYS[3], name .. ' ' .. id)
redis.call('DEL', KEYS[1])
return { 1, name }
