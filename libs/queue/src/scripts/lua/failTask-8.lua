--[[
  Records a failed run of an active task, if the caller still holds its lease:
  either schedules a retry (-> retrying) or moves it to the dead-letter queue (-> dead).

  Idle workers are woken after a retry (they re-read the next due time) and after a dead-letter of a
  queue with a concurrency cap (the run freed a slot).

  Either way the run is appended to the attempt history (outcome 'retried' or 'dead', with the
  error's detail). With finished mode 'archive' (RESULTS_BACKEND=postgres) a dead task also waits in
  `archive` for the archiver to write its row; it stays in the dead-letter queue meanwhile and after.

  KEYS[1] active   KEYS[2] retrying   KEYS[3] dead   KEYS[4] dead-trimmed counter   KEYS[5] wake list
  KEYS[6] archive   KEYS[7] throughput (per-minute outcome counts)   KEYS[8] meta (its `concurrency` cap)
  ARGV[1] task key prefix   ARGV[2] id   ARGV[3] lease token   ARGV[4] last error
  ARGV[5] 'retry' or 'dead'
  ARGV[6] retry delay ms (retry) or dead reason (dead)
  ARGV[7] DLQ max size (0 = unlimited)
  ARGV[8] finished mode: 'expire' or 'archive'
  ARGV[9] the error's detail for the attempt history (message and stack, truncated; '' = ARGV[4])

  Returns the number of old dead tasks trimmed (>= 0), or -3 when the lease is not the caller's.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed, e.g. a NaN delay.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local id = strArg(ARGV[2], 'id')
strArg(ARGV[3], 'lease token')
local action = oneOfArg(ARGV[5], 'action', { 'retry', 'dead' })
local delay, reason
if action == 'retry' then
  delay = intArg(ARGV[6], 'retry delay ms', 0)
else
  reason = oneOfArg(ARGV[6], 'dead reason', DEAD_REASONS)
end
local dlqMax = intArg(ARGV[7], 'DLQ max size', 0)
local archive = oneOfArg(ARGV[8], 'finished mode', FINISHED_MODES) == 'archive'
local detail = ARGV[9]
if detail == nil or detail == '' then detail = ARGV[4] end

local key = prefix .. id
if redis.call('HGET', key, 'lease') ~= ARGV[3] then return CODE.LEASE_LOST end
local now = nowMs()
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', key, 'lease')
appendAttempt(key, action == 'retry' and 'retried' or 'dead', now, workerOf(ARGV[3]), detail)
if action == 'retry' then
  local due = now + delay
  redis.call('ZADD', KEYS[2], int(due), id)
  redis.call('HSET', key, 'status', 'retrying', 'last_error', ARGV[4], 'next_run_at', int(due))
  countOutcome(KEYS[7], 'r', now, 1)
  -- Idle workers re-read the next due time, so a short backoff is not stretched to their idle wait.
  wake(KEYS[5])
  return 0
end
redis.call('ZADD', KEYS[3], int(now), id)
onFinished(key, id)
redis.call('HSET', key, 'status', 'dead', 'last_error', ARGV[4], 'dead_reason', reason, 'finished_at', int(now))
redis.call('HDEL', key, 'watched')
if archive then toArchive(KEYS[6], key, id, now) end
countOutcome(KEYS[7], 'd', now, 1)
if redis.call('HGET', KEYS[8], 'concurrency') then wake(KEYS[5]) end
return trimDead(KEYS[3], KEYS[4], prefix, dlqMax, KEYS[6])
