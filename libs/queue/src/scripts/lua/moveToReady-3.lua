--[[
  Migration to key schema v2 (ADR 12), one batch: moves up to `batch` priority-0 tasks that the earlier
  schema queued in the `queued` sorted set to the head of the ready list, youngest first, so the list
  reads in the set's order and ahead of what was submitted since; each moved hash is compacted as
  compactTask does. The set's priority-0 entries are claimed before the list, so every state between
  two batches claims in the same order as before the migration began. Idempotent: call until it
  returns 0.

  KEYS[1] queued   KEYS[2] ready   KEYS[3] meta (ready_head: each entry pushed at the head moves it back one)
  ARGV[1] task key prefix   ARGV[2] batch (1..1000)

  Returns the number of entries moved (0: none left).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local batch = intArg(ARGV[2], 'batch', 1, 1000)

-- Priority 0's band, below the scores the ready list's listing uses.
local entries = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. int(READY_FLOOR), int(100 * BAND), 'LIMIT', 0, batch)
if #entries == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(entries))
local stale = 0
for _, id in ipairs(entries) do
  redis.call('LPUSH', KEYS[2], id)
  -- An entry whose hash is not queued (none should be) arrives as what the list calls it: a tombstone.
  if redis.call('HGET', prefix .. id, 'status') == 'queued' then compactTaskHash(prefix .. id, id) else stale = stale + 1 end
end
redis.call('HINCRBY', KEYS[3], 'ready_head', -#entries)
addReadyStale(KEYS[3], stale)
return #entries
