--[[
  Marks active tasks succeeded, each only if the caller still holds its lease. One call acks every
  task of one queue that finished in the same tick (the consumer coalesces them); each task's
  transition is checked and applied on its own, so one lost lease does not affect the others.

  Finished mode 'expire' (RESULTS_BACKEND=redis): the hash is kept `retention` seconds, indexed in
  `succeeded` by its expiry (no TTL on the hash; see sweepFinished, which this call runs too). 'archive' (postgres): the hash is kept, without a TTL, in `archive` until the archiver
  has written it to PostgreSQL. Either way the hash records the worker of the succeeded run.

  A queue with a concurrency cap gets a wake marker when tasks were acked: each freed a slot, and idle
  workers (whose last claim found the cap reached) look again now instead of after their idle wait. A
  queue without a cap pays one HGET per call for this.

  KEYS[1] active   KEYS[2] succeeded (index scored by expiry time: finish + retention)   KEYS[3] archive
  KEYS[4] throughput (per-minute outcome counts)   KEYS[5] meta (its `concurrency` cap)   KEYS[6] wake list
  ARGV[1] task key prefix   ARGV[2] result retention in seconds (0 = delete now; 'expire' only)
  ARGV[3] finished mode: 'expire' or 'archive'
  ARGV[4..] groups of 3: id, lease token, result (JSON, '' for none)

  Returns one code per task, in order: 1, or -3 when the lease is no longer the caller's
  (expired and recovered, or gone).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local ttl = intArg(ARGV[2], 'result retention seconds', 0)
local archive = oneOfArg(ARGV[3], 'finished mode', FINISHED_MODES) == 'archive'
groupCount(4, 3, 'ack fields')
for i = 4, #ARGV, 3 do
  strArg(ARGV[i], 'id')
  strArg(ARGV[i + 1], 'lease token')
end

local now = nowMs()
local nowArg = int(now)
local expiresArg = int(now + ttl * 1000)
-- The index the acked ids join, scored by when its entries are due: expiry or archiving.
local index, indexScore = KEYS[2], expiresArg
if archive then index, indexScore = KEYS[3], nowArg end
local codes = {}
local done = {}
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  local key = prefix .. id
  if redis.call('HGET', key, 'lease') ~= ARGV[i + 1] then
    codes[#codes + 1] = CODE.LEASE_LOST
  else
    codes[#codes + 1] = 1
    done[#done + 1] = id
    onFinished(key, id)
    if ttl <= 0 and not archive then
      redis.call('DEL', key)
    else
      redis.call('HSET', key, 'status', 'succeeded', 'finished_at', nowArg, 'result', ARGV[i + 2],
        'worker', workerOf(ARGV[i + 1]) or '')
      redis.call('HDEL', key, 'lease', 'watched')
      -- Archived: no TTL, and a new revision for the archiver (see toArchive; the ZADD is batched below).
      if archive then redis.call('HINCRBY', key, 'rev', 1) end
    end
  end
end
if #done > 0 then
  -- ZREM/ZADD take many members: unpack in chunks below Lua's stack limit.
  for first = 1, #done, 1000 do
    local last = math.min(first + 999, #done)
    redis.call('ZREM', KEYS[1], unpack(done, first, last))
    if ttl > 0 or archive then
      local scored = {}
      for j = first, last do
        scored[#scored + 1] = indexScore
        scored[#scored + 1] = done[j]
      end
      redis.call('ZADD', index, unpack(scored))
    end
  end
end
countOutcome(KEYS[4], 's', now, #done)
if #done > 0 and redis.call('HGET', KEYS[5], 'concurrency') then wake(KEYS[6]) end
-- Retained tasks past their retention go, more of them than this call added.
sweepFinished(KEYS[2], prefix, now, #codes + 100)
return codes
