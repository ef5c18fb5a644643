--[[
  Deletes one dead task for good.

  KEYS[1] dead
  ARGV[1] task key prefix   ARGV[2] id

  Returns { 1 }; { -1 } when the task does not exist; { -2, status } when it exists but is not dead.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[2], 'id')
local key = strArg(ARGV[1], 'task key prefix') .. id
local status = redis.call('HGET', key, 'status')
if not status then return { -1 } end
if not redis.call('ZSCORE', KEYS[1], id) then return { -2, status } end
redis.call('ZREM', KEYS[1], id)
redis.call('DEL', key)
return { 1 }
