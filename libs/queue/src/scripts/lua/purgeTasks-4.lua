--[[
  Purges up to `limit` waiting tasks of one state (queued, scheduled or retrying; never active): the
  first `limit` of its set leave it and are gone, as if never submitted: no record, no outcome, no row in
  the history. Each frees its uniqueness lock and wakes whoever waits for it, as a cancel would. The
  caller repeats until it returns less than `limit`, so a large purge never blocks Redis for long. The
  queue's `purged` count (its meta hash) counts them.

  A task whose PostgreSQL row the archiver has yet to remove (RESULTS_BACKEND=postgres: a dead task
  requeued, or a finished one retried, moments ago) keeps only its revision, with a new one, in
  `archive`: the archiver removes the row, then the hash.

  For `queued` (ARGV[3] = 1) the ready list is purged after the queued set: its tombstones go too,
  uncounted.

  KEYS[1] the state's set (queued, scheduled or retrying)   KEYS[2] archive   KEYS[3] meta
  KEYS[4] ready (LIST: the priority-0 lane, see the prelude)
  ARGV[1] task key prefix   ARGV[2] limit   ARGV[3] 1 to purge the ready list too (queued), else 0

  Returns the number purged.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local limit = intArg(ARGV[2], 'limit', 1, 1000)
local withReady = intArg(ARGV[3], 'with ready lane', 0, 1) == 1

local ids = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
if withReady and #ids < limit then
  for _, id in ipairs(popReady(KEYS[4], KEYS[3], prefix, limit - #ids, limit - #ids + READY_POP_SLACK)) do
    ids[#ids + 1] = id
  end
end
if #ids == 0 then return 0 end
local now = nowMs()
for _, id in ipairs(ids) do
  local key = prefix .. id
  onFinished(key, id)
  if redis.call('ZSCORE', KEYS[2], id) then
    local rev = tonumber(redis.call('HGET', key, 'rev')) or 0
    redis.call('DEL', key)
    redis.call('HSET', key, 'rev', int(rev))
    toArchive(KEYS[2], key, id, now)
  else
    redis.call('DEL', key)
  end
end
redis.call('HINCRBY', KEYS[3], 'purged', #ids)
return #ids
