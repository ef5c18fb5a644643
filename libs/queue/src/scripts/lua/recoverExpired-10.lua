--[[
  Recoverer: takes active tasks whose lease deadline passed (their worker died or stalled) and
  puts them back at the front of `queued` without burning an attempt, or, once a task has been
  recovered more than max_recoveries times, moves it to `dead` with reason lease_expired.
  A short lock lets any number of workers call this without all doing the work. The same pass
  deletes retained succeeded and cancelled tasks past their retention (sweepFinished), and the
  throughput counts of old minutes.

  Each expired run is appended to the attempt history (outcome 'lease_expired', with the worker that
  held the lease). A task dead-lettered here waits in `archive` too in finished mode 'archive'.

  KEYS[1] active   KEYS[2] queued   KEYS[3] dead   KEYS[4] recover lock   KEYS[5] dead-trimmed counter
  KEYS[6] succeeded index   KEYS[7] archive   KEYS[8] throughput (per-minute outcome counts)
  KEYS[9] wake list (idle workers are woken when tasks were put back)   KEYS[10] cancelled index
  ARGV[1] task key prefix   ARGV[2] batch limit   ARGV[3] max recoveries
  ARGV[4] lock ms (0 = ignore the lock)   ARGV[5] lock owner   ARGV[6] DLQ max size
  ARGV[7] finished mode: 'expire' or 'archive'

  Returns { id, type, outcome ('queued' | 'dead'), ... }; a full batch means call again.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local batch = intArg(ARGV[2], 'batch limit', 1)
local maxRecoveries = intArg(ARGV[3], 'max recoveries', 0)
local lockMs = intArg(ARGV[4], 'lock ms', 0)
local owner = strArg(ARGV[5], 'lock owner')
local dlqMax = intArg(ARGV[6], 'DLQ max size', 0)
local archive = oneOfArg(ARGV[7], 'finished mode', FINISHED_MODES) == 'archive'

if lockMs > 0 and not redis.call('SET', KEYS[4], owner, 'NX', 'PX', lockMs) then return {} end
local now = nowMs()
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, batch)
local out = {}
for _, id in ipairs(expired) do
  local key = prefix .. id
  redis.call('ZREM', KEYS[1], id)
  local f = redis.call('HMGET', key, 'type', 'priority', 'lease')
  if f[1] then
    appendAttempt(key, 'lease_expired', now, workerOf(f[3]),
      'lease expired: its worker died, stalled or lost its connection')
    redis.call('HDEL', key, 'lease')
    local recoveries = redis.call('HINCRBY', key, 'recoveries', 1)
    if recoveries > maxRecoveries then
      redis.call('ZADD', KEYS[3], int(now), id)
      onFinished(key, id)
      redis.call('HDEL', key, 'watched')
      redis.call('HSET', key, 'status', 'dead', 'dead_reason', 'lease_expired', 'finished_at', int(now),
        'last_error', 'lease expired ' .. recoveries .. ' times: the task keeps killing or stalling its worker')
      if archive then toArchive(KEYS[7], key, id, now) end
      out[#out + 1] = id; out[#out + 1] = f[1]; out[#out + 1] = 'dead'
    else
      redis.call('ZADD', KEYS[2], queuedScore(priorityOf(f[2]), 0), id)
      redis.call('HINCRBY', key, 'attempts', -1)
      redis.call('HSET', key, 'status', 'queued')
      out[#out + 1] = id; out[#out + 1] = f[1]; out[#out + 1] = 'queued'
    end
  end
end
trimDead(KEYS[3], KEYS[5], prefix, dlqMax, KEYS[7])
sweepFinished(KEYS[6], prefix, now, SWEEP_LIMIT)
sweepFinished(KEYS[10], prefix, now, SWEEP_LIMIT)
local dead = 0
for j = 3, #out, 3 do
  if out[j] == 'dead' then dead = dead + 1 end
end
countOutcome(KEYS[8], 'd', now, dead)
if #out / 3 > dead then wake(KEYS[9]) end
-- Forget outcome counts older than the throughput history keeps.
local oldest = math.floor(now / 60000) - THROUGHPUT_MINUTES
for _, field in ipairs(redis.call('HKEYS', KEYS[8])) do
  local minute = tonumber(string.match(field, ':(%d+)$'))
  if not minute or minute < oldest then redis.call('HDEL', KEYS[8], field) end
end
return out
