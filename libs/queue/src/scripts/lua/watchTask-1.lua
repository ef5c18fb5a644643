--[[
  Registers interest in a task's end (GET /tasks/{id}?wait_ms): unless it has finished already, the
  script that finishes it will PUBLISH its id on `channel`. Atomic with the status read, so a task
  that finishes right after cannot be missed.

  KEYS[1] the task's hash
  ARGV[1] channel

  Returns { 1, status } when now watched; { 0, status } when finished already; { -1 } when unknown.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local channel = strArg(ARGV[1], 'channel')
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { CODE.NOT_FOUND } end
if isFinished(status) then return { 0, status } end
redis.call('HSET', KEYS[1], 'watched', channel)
return { 1, status }
