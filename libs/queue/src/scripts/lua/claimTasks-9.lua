--[[
  Promotes due scheduled/retrying tasks, then claims up to k queued tasks for one worker:
  each claimed id moves to `active` (scored by lease deadline) with a fresh lease token.
  The queue's controls hold here, for every worker at once: a paused queue gives nothing; a
  concurrency cap bounds its active tasks; a rate limit bounds its starts per sliding window (a log
  of start times, so a window never holds more than `max` starts). With a results buffer bound
  (RESULTS_BACKEND=postgres, RESULTS_BUFFER_MAX), no more is claimed than leaves the queue's archive
  backlog (finished tasks waiting for PostgreSQL) under the bound: back-pressure, for every worker.

  KEYS[1] queued   KEYS[2] scheduled   KEYS[3] retrying   KEYS[4] active   KEYS[5] seq
  KEYS[6] meta (HASH: paused, rate_max, rate_per_ms, concurrency, served_at)   KEYS[7] rate log (ZSET of starts)
  KEYS[8] archive   KEYS[9] ready (LIST: the priority-0 lane, see the prelude)
  ARGV[1] task key prefix
  ARGV[2] k, the most tasks to claim (may be 0: promote only)
  ARGV[3] lease ms
  ARGV[4] token prefix, unique per call (worker id + counter); task i gets token prefix..':'..i
  ARGV[5] promote batch limit
  ARGV[6] results buffer max: most archive entries the queue may hold (0 = no bound)

  A promote-only call (k = 0: each worker's recoverer makes one per served queue every
  RECOVERY_INTERVAL_MS) records that a worker serves the queue: meta.served_at = now, which
  QUEUE_UNSERVED_AFTER_MS is measured against. Claims with k > 0 leave it, so the hot path writes nothing more.

  Returns { nextDueMs or -1, nowMs, backlogged (1 when the archive bound held claims back, else 0),
            then per task: id, token, type, payload, attempts, max_retries, timeout_ms, next_run_at,
            priority, backoff (the task's own, as stored; nil when its type's applies) }; nextDueMs is also when a rate-limited queue may start its next task.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local k = intArg(ARGV[2], 'claim count', 0, 100000)
local leaseMs = intArg(ARGV[3], 'lease ms', 1)
local tokenPrefix = strArg(ARGV[4], 'token prefix')
local promoteLimit = intArg(ARGV[5], 'promote batch', 1)
local bufferMax = intArg(ARGV[6], 'results buffer max', 0)
local now = nowMs()

local function promote(source)
  local due = redis.call('ZRANGEBYSCORE', source, '-inf', now, 'LIMIT', 0, promoteLimit)
  if #due == 0 then return end
  local seq = redis.call('INCRBY', KEYS[5], #due) - #due
  for i, id in ipairs(due) do
    local key = prefix .. id
    local f = redis.call('HMGET', key, 'status', 'priority')
    if f[1] then
      addQueued(KEYS[1], KEYS[9], priorityOf(f[2]), seq + i, id)
      redis.call('HSET', key, 'status', 'queued')
    end
  end
  redis.call('ZREM', source, unpack(due))
end
promote(KEYS[2])
promote(KEYS[3])
if k == 0 then redis.call('HSET', KEYS[6], 'served_at', int(now)) end

-- The queue's controls (set by the api's pause/resume and limits routes).
local limitedUntil = -1
local rateLimited = false
if k > 0 then
  local meta = redis.call('HMGET', KEYS[6], 'paused', 'rate_max', 'rate_per_ms', 'concurrency')
  if meta[1] == '1' then k = 0 end
  local concurrency = tonumber(meta[4])
  if k > 0 and concurrency then k = math.min(k, math.max(0, concurrency - redis.call('ZCARD', KEYS[4]))) end
  local rateMax, ratePer = tonumber(meta[2]), tonumber(meta[3])
  if k > 0 and rateMax and ratePer then
    rateLimited = true
    redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', int(now - ratePer))
    local allowed = math.max(0, rateMax - redis.call('ZCARD', KEYS[7]))
    if allowed < k and redis.call('ZCARD', KEYS[1]) + readyCount(KEYS[9], KEYS[6]) > allowed then
      -- Work is waiting on the limit: the worker should look again when the oldest start leaves the window.
      local oldest = redis.call('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')
      if oldest[2] then limitedUntil = tonumber(oldest[2]) + ratePer end
    end
    k = math.min(k, allowed)
  end
end

local out = { -1, now, 0 }
if k > 0 and bufferMax > 0 then
  local room = bufferMax - redis.call('ZCARD', KEYS[8])
  if room < k then
    k = math.max(0, room)
    out[3] = 1
  end
end
if k > 0 then
  local deadline = int(now + leaseMs)
  local startedAt = int(now)
  local leased = {}
  local starts = {}
  -- Priority >= 0 from the queued set, then the ready list, then negative priorities.
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. int(NEGATIVE_SCORES), 'LIMIT', 0, k)
  if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
  if #ids < k then
    for _, id in ipairs(popReady(KEYS[9], KEYS[6], prefix, k - #ids, k + READY_POP_SLACK)) do ids[#ids + 1] = id end
    -- Tombstones used the budget up: the worker calls again at once instead of idling.
    if #ids < k and redis.call('LLEN', KEYS[9]) > 0 then limitedUntil = now end
  end
  if #ids < k then
    local popped = redis.call('ZPOPMIN', KEYS[1], k - #ids)
    for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
  end
  for i, id in ipairs(ids) do
    local key = prefix .. id
    local token = tokenPrefix .. ':' .. i
    local f = redis.call('HMGET', key, 'type', 'payload', 'attempts', 'max_retries', 'timeout_ms', 'next_run_at',
      'priority', 'backoff', 'created_at', 'status')
    if f[1] and f[10] == 'queued' then
      local attempts = (tonumber(f[3]) or 0) + 1
      redis.call('HSET', key, 'status', 'active', 'lease', token, 'attempts', attempts, 'started_at', startedAt)
      leased[#leased + 1] = deadline
      leased[#leased + 1] = id
      starts[#starts + 1] = startedAt
      starts[#starts + 1] = token
      local n = #out
      out[n + 1] = id; out[n + 2] = token; out[n + 3] = f[1]; out[n + 4] = f[2]; out[n + 5] = attempts
      out[n + 6] = f[4] or UNSTORED.MAX_RETRIES; out[n + 7] = f[5] or UNSTORED.TIMEOUT_MS; out[n + 8] = f[6] or createdAtOf(id, f[9])
      out[n + 9] = priorityOf(f[7])
      out[n + 10] = f[8]
    end
  end
  -- One ZADD for the whole claim, in chunks under Lua's unpack limit.
  for first = 1, #leased, 1000 do
    redis.call('ZADD', KEYS[4], unpack(leased, first, math.min(first + 999, #leased)))
  end
  if rateLimited then
    for first = 1, #starts, 1000 do
      redis.call('ZADD', KEYS[7], unpack(starts, first, math.min(first + 999, #starts)))
    end
  end
end

-- When the worker found nothing to do, it sleeps until the next due task at most.
local nextDue = -1
for _, source in ipairs({ KEYS[2], KEYS[3] }) do
  local first = redis.call('ZRANGE', source, 0, 0, 'WITHSCORES')
  if first[2] then
    local score = tonumber(first[2])
    if nextDue < 0 or score < nextDue then nextDue = score end
  end
end
if limitedUntil >= 0 and (nextDue < 0 or limitedUntil < nextDue) then nextDue = limitedUntil end
out[1] = nextDue
return out
