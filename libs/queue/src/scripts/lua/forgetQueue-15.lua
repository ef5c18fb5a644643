--[[
  Forgets an empty queue: deletes its bookkeeping keys (controls included) when no task of it is in
  any state (scheduled, queued, active, retrying, retained succeeded, dead, retained cancelled). The
  caller then removes the name from the registry (another slot, so another call).

  KEYS[1] scheduled   KEYS[2] queued   KEYS[3] active   KEYS[4] retrying   KEYS[5] succeeded
  KEYS[6] dead   KEYS[7] cancelled   KEYS[8] dead-trimmed counter   KEYS[9] seq   KEYS[10] wake list
  KEYS[11] recover lock   KEYS[12] meta   KEYS[13] rate log   KEYS[14] archive (tasks PostgreSQL has yet
  to get count as left in the queue)   KEYS[15] throughput
  (expired entries of the succeeded index do not count)

  Returns { 1 }, or { -2, tasks still in the queue }.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local now = nowMs()
trimFinished(KEYS[5], now)
trimFinished(KEYS[7], now)
local left = 0
for i = 1, 7 do left = left + redis.call('ZCARD', KEYS[i]) end
left = left + redis.call('ZCARD', KEYS[14])
if left > 0 then return { -2, left } end
redis.call('DEL', KEYS[5], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[15])
return { 1 }
