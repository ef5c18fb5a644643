--[[
  Hands an active task back to the queue at shutdown, if the caller still holds its lease.
  The attempt is not burned, the task goes to the front of its priority band, and `releases`
  counts the hand-backs (a released run may have done part of its work: at-least-once). The run is
  appended to the attempt history (outcome 'released'). Idle workers are woken to take it.

  KEYS[1] active   KEYS[2] queued   KEYS[3] wake list
  ARGV[1] task key prefix   ARGV[2] id   ARGV[3] lease token

  Returns 1, or -3 when the lease is not the caller's.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local key = strArg(ARGV[1], 'task key prefix') .. strArg(ARGV[2], 'id')
strArg(ARGV[3], 'lease token')
if redis.call('HGET', key, 'lease') ~= ARGV[3] then return CODE.LEASE_LOST end
local priority = priorityOf(redis.call('HGET', key, 'priority'))
appendAttempt(key, 'released', nowMs(), workerOf(ARGV[3]), nil)
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], queuedScore(priority, 0), ARGV[2])
redis.call('HINCRBY', key, 'attempts', -1)
redis.call('HINCRBY', key, 'releases', 1)
redis.call('HSET', key, 'status', 'queued')
redis.call('HDEL', key, 'lease')
wake(KEYS[3])
return 1
