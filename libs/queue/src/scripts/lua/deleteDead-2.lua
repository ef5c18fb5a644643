--[[
  Deletes one dead task for good: it leaves the dead-letter queue at once; its hash goes too, unless
  its PostgreSQL row (RESULTS_BACKEND=postgres) is still waiting in `archive`: then the archiver
  writes the row and drops the hash.

  KEYS[1] dead   KEYS[2] archive
  ARGV[1] task key prefix   ARGV[2] id

  Returns { 1 }; { -1 } when the task does not exist; { -2, status } when it exists but is not dead
  ({ -2, 'dead', 'deleted' }: deleted from the dead-letter queue already, its hash kept until its row is
  written).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[2], 'id')
local key = strArg(ARGV[1], 'task key prefix') .. id
local status = redis.call('HGET', key, 'status')
if not status then return { CODE.NOT_FOUND } end
if not redis.call('ZSCORE', KEYS[1], id) then
  -- Dead but out of the dead-letter queue: deleted, its hash kept only until its row is archived.
  if status == 'dead' then return { CODE.WRONG_STATE, status, 'deleted' } end
  return { CODE.WRONG_STATE, status }
end
redis.call('ZREM', KEYS[1], id)
dropDeadHash(KEYS[2], key, id)
return { 1 }
