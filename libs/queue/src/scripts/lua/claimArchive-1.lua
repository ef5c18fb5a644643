--[[
  The archiver's claim (RESULTS_BACKEND=postgres): takes up to `max` due entries of the archive index
  (scored by when they are due: finished, or an earlier claim's lease ran out), leases them (score =
  the lease deadline, so no other archiver takes them meanwhile; the entries of an archiver that died
  come back when it passes) and returns their hashes to write to PostgreSQL. It stops early once the
  hashes returned pass `byte budget` (one is always returned). An entry whose hash is gone has nothing
  left to write and is dropped.

  KEYS[1] archive
  ARGV[1] task key prefix   ARGV[2] max entries   ARGV[3] lease ms   ARGV[4] byte budget

  Returns { now, dropped (entries without a hash), then per task: id, { field, value, ... } }.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local max = intArg(ARGV[2], 'max entries', 1, 100000)
local leaseMs = intArg(ARGV[3], 'lease ms', 1)
local budget = intArg(ARGV[4], 'byte budget', 1)

local now = nowMs()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', int(now), 'LIMIT', 0, max)
local deadline = int(now + leaseMs)
local out = { now, 0 }
local bytes = 0
for _, id in ipairs(due) do
  local hash = redis.call('HGETALL', prefix .. id)
  if #hash == 0 then
    redis.call('ZREM', KEYS[1], id)
    out[2] = out[2] + 1
  else
    redis.call('ZADD', KEYS[1], 'XX', deadline, id)
    out[#out + 1] = id
    out[#out + 1] = hash
    for i = 2, #hash, 2 do bytes = bytes + #hash[i] end
    if bytes >= budget then break end
  end
end
return out
