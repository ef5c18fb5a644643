--[[
  Forgets an empty queue: deletes its bookkeeping keys when no task of it is in any state
  (scheduled, queued, active, retrying, retained succeeded, dead). The caller then removes the
  name from the registry (another slot, so another call).

  KEYS[1] scheduled   KEYS[2] queued   KEYS[3] active   KEYS[4] retrying   KEYS[5] succeeded
  KEYS[6] dead   KEYS[7] dead-trimmed counter   KEYS[8] seq   KEYS[9] wake list   KEYS[10] recover lock
  (expired entries of the succeeded index do not count)

  Returns { 1 }, or { -2, tasks still in the queue }.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
trimFinished(KEYS[5], nowMs())
local left = 0
for i = 1, 6 do left = left + redis.call('ZCARD', KEYS[i]) end
if left > 0 then return { -2, left } end
redis.call('DEL', KEYS[5], KEYS[7], KEYS[8], KEYS[9], KEYS[10])
return { 1 }
