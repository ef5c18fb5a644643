-- Prepended to every script by script-loader.ts (files starting with "_" are not commands).
-- All keys one script touches share the queue's {hash tag}, so they live in one Cluster slot;
-- task hash keys are built here from the task-key prefix passed in ARGV, inside that same tag.

-- Input checks. Redis does not roll back a script that errors halfway, so every script checks ALL of
-- its arguments with these before its first write; a bad one aborts the call with a TASKQ_BADARG
-- error reply and nothing written. (The client refuses non-finite numbers before it calls, too.)
local function badArg(name, value, rule)
  error({ err = 'TASKQ_BADARG ' .. name .. ' must be ' .. rule .. ' (got ' .. tostring(value) .. ')' })
end

-- An integer in [min, max] (either bound may be nil). tonumber() alone accepts 'nan' and 'inf'.
local function intArg(value, name, min, max)
  local n = tonumber(value)
  if n == nil or n ~= n or n == math.huge or n == -math.huge or n ~= math.floor(n) then
    badArg(name, value, 'an integer')
  end
  if (min ~= nil and n < min) or (max ~= nil and n > max) then
    badArg(name, value, 'between ' .. tostring(min) .. ' and ' .. tostring(max))
  end
  return n
end

local function strArg(value, name)
  if value == nil or value == '' then badArg(name, value, 'a non-empty string') end
  return value
end

local function oneOfArg(value, name, allowed)
  for _, candidate in ipairs(allowed) do
    if value == candidate then return value end
  end
  badArg(name, value, 'one of ' .. table.concat(allowed, ', '))
end

-- Groups of `size` arguments from ARGV[first] on: the count must divide evenly.
local function groupCount(first, size, name)
  local extra = #ARGV - first + 1
  if extra < 0 or extra % size ~= 0 then badArg(name, extra, 'groups of ' .. size .. ' arguments') end
  return extra / size
end

local MIN_PRIORITY, MAX_PRIORITY = -100, 100
local DEAD_REASONS = {
  'max_retries', 'non_retryable', 'unknown_task_type', 'invalid_payload', 'timeout', 'lease_expired',
  'result_too_large'
}

-- Refusal codes a script returns (a reply's first element, or one per task in a batch), by name:
-- errors/queue-error.ts has the same table as SCRIPT_CODE, and a test holds the two equal.
local CODE = {
  NOT_FOUND = -1,
  WRONG_STATE = -2,
  LEASE_LOST = -3,
  LIMIT_REACHED = -5,
  IDEMPOTENCY_CONFLICT = -6,
  UNIQUE_CONFLICT = -7,
  NOT_DUE = -8,
  UNREGISTERED = -9,
}

-- Redis server time in ms: every lease deadline and due time uses the server's clock,
-- so workers with skewed clocks cannot steal each other's leases.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Score in the queued set: priority band first (higher priority = lower score),
-- then the enqueue sequence, so ZPOPMIN gives FIFO within a priority.
-- 201 bands * 2^45 < 2^53, so every score is an exact double.
local BAND = 35184372088832 -- 2^45
local function queuedScore(priority, seq)
  return string.format('%.0f', (100 - priority) * BAND + seq)
end

-- The ready lane: a priority-0 task waits in the queue's `ready` LIST (RPUSH; claimed by LPOP), which
-- takes a few bytes per task where a sorted-set entry takes over a hundred. The `queued` sorted set
-- holds every other priority, and a priority-0 task put back at the front (released, recovered) or
-- written by the earlier schema. A claim takes, in order: queued entries of priority >= 0, the ready
-- list, queued entries of negative priority (scores from NEGATIVE_SCORES on).
-- Cancelling a task in the list leaves its entry (LREM is O(n)): a tombstone, counted in the meta
-- hash's `ready_stale` and marked in the task hash (`tombstones`). Whoever pops a tombstone, or an
-- entry whose hash is gone or not `queued`, drops it and counts it off. A retry of a cancelled task
-- whose tombstone still waits revives it (reviveReady): the task takes its old place in line again,
-- and the list never holds a task twice.
-- `ready_head` counts the entries ever popped from the list's head, so an entry's position
-- (ready_head + its index) stays put while it waits: the listing's cursor (READY_SCORES + position,
-- a score between the priority-0 and priority -1 bands).
local NEGATIVE_SCORES = 101 * BAND
local READY_SCORES = 100 * BAND + 17592186044416 -- + 2^44: after every stored priority-0 score
-- Positions go below 0 when the migration pushes earlier tasks at the head: listing scores from
-- READY_FLOOR (position -2^43) on are the list's; a stored priority-0 sequence stays below 2^43.
local READY_FLOOR = 100 * BAND + 8796093022208
-- Tombstones one claim may pop beyond the tasks it takes (cancelled tasks' entries are rare; a
-- mass cancel leaves many, which claims then clear a bounded slice at a time).
local READY_POP_SLACK = 1000
local function pushReady(readyKey, ids)
  for first = 1, #ids, 1000 do
    redis.call('RPUSH', readyKey, unpack(ids, first, math.min(first + 999, #ids)))
  end
end
-- A task joins the back of its queue: the ready list for priority 0, else the queued set.
local function addQueued(queuedKey, readyKey, priority, seq, id)
  if priority == 0 then
    redis.call('RPUSH', readyKey, id)
  else
    redis.call('ZADD', queuedKey, queuedScore(priority, seq), id)
  end
end
-- Counts `n` tombstones into (or, negative, out of) the queue's ready_stale, never below zero (an
-- entry an earlier release's cancel left is dropped without having been counted).
local function addReadyStale(metaKey, n)
  if n ~= 0 and redis.call('HINCRBY', metaKey, 'ready_stale', n) < 0 then redis.call('HSET', metaKey, 'ready_stale', 0) end
end
-- Pops up to `want` queued tasks from the ready list's head (at most `budget` entries, tombstones
-- included, so one call stays short); returns their ids. Keeps ready_head and ready_stale.
local function popReady(readyKey, metaKey, prefix, want, budget)
  local ids, popped, stale = {}, 0, 0
  while #ids < want and popped < budget do
    local batch = redis.call('LPOP', readyKey, math.min(want - #ids, budget - popped))
    if not batch then break end
    popped = popped + #batch
    for _, id in ipairs(batch) do
      local key = prefix .. id
      local f = redis.call('HMGET', key, 'status', 'tombstones')
      if f[2] then
        stale = stale + 1
        redis.call('HDEL', key, 'tombstones')
      elseif f[1] == 'queued' then
        ids[#ids + 1] = id
      else
        stale = stale + 1
      end
    end
  end
  if popped > 0 then redis.call('HINCRBY', metaKey, 'ready_head', popped) end
  addReadyStale(metaKey, -stale)
  return ids
end
-- A retried task cancelled from the ready list whose entry is still there gets that entry back
-- (true), instead of a second one at the back.
local function reviveReady(metaKey, key)
  if not redis.call('HGET', key, 'tombstones') then return false end
  redis.call('HDEL', key, 'tombstones')
  addReadyStale(metaKey, -1)
  return true
end
-- Queued tasks in the ready list: its length less its tombstones.
local function readyCount(readyKey, metaKey)
  return math.max(0, redis.call('LLEN', readyKey) - (tonumber(redis.call('HGET', metaKey, 'ready_stale')) or 0))
end

-- A task hash does not store a field that holds its default: priority 0, attempts 0, recoveries 0,
-- next_run_at equal to created_at, created_at itself when the id says it, and the run settings in
-- UNSTORED (below). Every reader
-- defaults them (TypeScript: task-record.ts). Hashes written before stored them all, and read the same.
local function priorityOf(stored)
  return tonumber(stored) or 0
end

-- The run settings a task hash stores only when they differ from these: the schema's own values (equal
-- to the built-in DEFAULT_MAX_RETRIES and DEFAULT_TIMEOUT_MS, so a deployment on those stores neither),
-- never the deployment's configuration, so a hash reads the same whatever the apps are configured with. task-record.ts has the
-- same table as UNSTORED_SETTINGS, and a test holds the two equal.
local UNSTORED = {
  MAX_RETRIES = 3,
  TIMEOUT_MS = 60000,
}
local function storeRunSettings(key, maxRetries, timeoutMs)
  if tonumber(maxRetries) ~= UNSTORED.MAX_RETRIES then redis.call('HSET', key, 'max_retries', maxRetries) end
  if tonumber(timeoutMs) ~= UNSTORED.TIMEOUT_MS then redis.call('HSET', key, 'timeout_ms', timeoutMs) end
end

-- Task ids: `<queue>.<t><l><s>`, t = the creation time (Redis' clock, ms) in 9 base-36 digits, s = the
-- task's enqueue sequence number in the queue (the seq key) in base 36, l = how many digits s has
-- (one base-36 digit). Short; unique, because a sequence number is not reused while Redis keeps the
-- counter, and when it loses it the clock has moved on; sorted as text in creation order, and no
-- id is a prefix of another; and a task's creation time is read from its id. Ids of the earlier form
-- (`<queue>.<uuid>`) stay valid and keep a stored created_at. TypeScript: keys/queue-keys.ts.
local ID_TIME_DIGITS = 9
local DIGITS36 = '0123456789abcdefghijklmnopqrstuvwxyz'
local function base36(n)
  local out = ''
  repeat
    local d = n % 36
    out = string.sub(DIGITS36, d + 1, d + 1) .. out
    n = (n - d) / 36
  until n == 0
  return out
end
local function idTime(now)
  local t = base36(now)
  return string.rep('0', ID_TIME_DIGITS - #t) .. t
end
local function newTaskId(idPrefix, timePart, seq)
  local s = base36(seq)
  return idPrefix .. timePart .. base36(#s) .. s
end
-- The creation time of a task: its stored created_at, or the time in its id.
local function createdAtOf(id, stored)
  if stored then return tonumber(stored) end
  local t = string.match(id, '%.(' .. string.rep('%w', ID_TIME_DIGITS) .. ')%w%w+$')
  return t and tonumber(t, 36)
end

-- Integers as Redis arguments without Lua's %.14g rounding.
local function int(n)
  return string.format('%.0f', n)
end

-- Drops the fields of a task hash that hold their default (the key schema migration; this release's
-- scripts never write them). Returns how many went.
local function compactTaskHash(key, id)
  local f = redis.call('HMGET', key, 'priority', 'attempts', 'recoveries', 'next_run_at', 'created_at',
    'max_retries', 'timeout_ms')
  local drop = {}
  if f[1] == '0' then drop[#drop + 1] = 'priority' end
  if f[2] == '0' then drop[#drop + 1] = 'attempts' end
  if f[3] == '0' then drop[#drop + 1] = 'recoveries' end
  if tonumber(f[6]) == UNSTORED.MAX_RETRIES then drop[#drop + 1] = 'max_retries' end
  if tonumber(f[7]) == UNSTORED.TIMEOUT_MS then drop[#drop + 1] = 'timeout_ms' end
  local created = createdAtOf(id, f[5])
  if f[4] and created and tonumber(f[4]) == created then drop[#drop + 1] = 'next_run_at' end
  if f[5] and createdAtOf(id, nil) == tonumber(f[5]) then drop[#drop + 1] = 'created_at' end
  if #drop > 0 then redis.call('HDEL', key, unpack(drop)) end
  return #drop
end

-- Enforces DLQ_MAX_SIZE (0 = unlimited): drops the oldest dead tasks and counts them. A dead task
-- whose row the archiver has yet to write keeps its hash until it has (see dropDeadHash).
local function trimDead(deadKey, trimmedKey, taskPrefix, maxSize, archiveKey)
  if maxSize <= 0 then return 0 end
  local excess = redis.call('ZCARD', deadKey) - maxSize
  if excess <= 0 then return 0 end
  local popped = redis.call('ZPOPMIN', deadKey, excess)
  for i = 1, #popped, 2 do
    if not redis.call('ZSCORE', archiveKey, popped[i]) then redis.call('DEL', taskPrefix .. popped[i]) end
  end
  redis.call('INCRBY', trimmedKey, excess)
  return excess
end

-- A retained finished task (succeeded, cancelled) has no TTL of its own, which would cost Redis an
-- expiry entry per key: its index (`succeeded`, `cancelled`) is scored by when it expires (finish +
-- retention), and whoever passes deletes up to `limit` of the hashes due by now with their entries
-- (acks, cancels, the recoverer's pass; forgetting a queue). A hash written with a TTL by an earlier
-- release may have gone already: its DEL is a no-op. Returns how many entries went.
local function sweepFinished(indexKey, prefix, now, limit)
  local due = redis.call('ZRANGEBYSCORE', indexKey, '-inf', int(now), 'LIMIT', 0, limit)
  if #due == 0 then return 0 end
  for _, id in ipairs(due) do redis.call('DEL', prefix .. id) end
  redis.call('ZREM', indexKey, unpack(due))
  return #due
end
-- Expired retained tasks one pass deletes at most: a short script, and more than one ack adds.
local SWEEP_LIMIT = 1000

-- Terminal states: a task in one of them never runs again.
local FINISHED = { succeeded = true, dead = true, cancelled = true }
local function isFinished(status)
  return not status or FINISHED[status] == true
end

-- A task reached a terminal state: free its uniqueness key (if it still holds it), and tell whoever
-- waits for it (GET /tasks/{id}?wait_ms) on the channel the waiter registered. Call it before the
-- hash is deleted.
local function onFinished(key, id)
  local f = redis.call('HMGET', key, 'unique_key', 'watched')
  if f[1] and redis.call('GET', f[1]) == id then redis.call('DEL', f[1]) end
  if f[2] then redis.call('PUBLISH', f[2], id) end
end

-- Per-minute outcome counts of a queue (its `throughput` key), for the console's charts: HASH field
-- '<kind>:<minute since epoch>' (kind s succeeded, d dead, r retried, c cancelled). The recoverer
-- drops minutes older than THROUGHPUT_MINUTES.
local THROUGHPUT_MINUTES = 120
local function countOutcome(throughputKey, kind, now, n)
  if n > 0 then redis.call('HINCRBY', throughputKey, kind .. ':' .. math.floor(now / 60000), n) end
end

-- Wakes idle workers blocked on the wake list; a few markers are enough to wake them all in turn.
local function wake(wakeKey)
  if redis.call('LLEN', wakeKey) < 4 then
    redis.call('RPUSH', wakeKey, '1')
  end
end

-- How finished tasks are kept (RESULTS_BACKEND): 'expire' (the hash, with a TTL) or 'archive' (in the
-- queue's archive index until a worker's archiver has written it to PostgreSQL).
local FINISHED_MODES = { 'expire', 'archive' }

-- A finished task (or a dead one requeued, whose row must go) waits in the archive index for the
-- archiver. `rev` counts the changes the archiver must see: it writes the row with it (an older
-- revision never overwrites a newer row) and drops the entry only if the hash still has it. Score
-- `now`: an archiver may take it at once, even if an older revision of it is being written.
local function toArchive(archiveKey, key, id, now)
  redis.call('HINCRBY', key, 'rev', 1)
  redis.call('ZADD', archiveKey, int(now), id)
end

-- A dead task leaving the dead-letter queue (delete, purge, DLQ_MAX_SIZE trim): its hash goes, unless
-- its row is still waiting in the archive index; then the archiver writes it and drops the hash.
local function dropDeadHash(archiveKey, key, id)
  if not redis.call('ZSCORE', archiveKey, id) then redis.call('DEL', key) end
end

-- Attempt history: each run that ended without succeeding (retried, dead, lease expired, released
-- at shutdown, cancelled while active) is appended to the hash field `history`, a JSON array of at
-- most HISTORY_MAX entries (the oldest go first). The run in progress and a succeeded last run are
-- not stored: the hash's own attempts/started_at/finished_at and its lease or `worker` say them.
local HISTORY_MAX = 20

-- Lease tokens are `<worker id>:<call>:<slot>`: the worker that holds (or held) the lease.
local function workerOf(token)
  if not token then return nil end
  return string.match(token, '^(.*):%d+:%d+$')
end

local function appendAttempt(key, outcome, now, worker, err)
  local f = redis.call('HMGET', key, 'attempts', 'started_at', 'history')
  local entry = cjson.encode({
    attempt = tonumber(f[1]) or 0, started_at = tonumber(f[2]), finished_at = now,
    worker = worker, outcome = outcome, error = err
  })
  local history
  if not f[3] or f[3] == '' then
    history = '[' .. entry .. ']'
  else
    local list = cjson.decode(f[3])
    list[#list + 1] = cjson.decode(entry)
    while #list > HISTORY_MAX do table.remove(list, 1) end
    history = cjson.encode(list)
  end
  redis.call('HSET', key, 'history', history)
end

-- A succeeded task that runs again (retried): its succeeded run, so far read off the hash itself
-- (attempts, started_at, finished_at, worker), becomes an entry of the stored history first.
local function storeSucceededRun(key)
  local f = redis.call('HMGET', key, 'finished_at', 'worker')
  local worker = f[2]
  if worker == '' then worker = nil end
  appendAttempt(key, 'succeeded', tonumber(f[1]), worker, nil)
end

-- Uniqueness for a task that runs again (requeued, retried): it takes its lock again, as at its
-- submit, for its unique_for_ms from now. uniqueHolder (before the first write) names another
-- unfinished task that holds the lock now, and the caller refuses; takeUniqueLock (after) takes it.
-- A task submitted before hashes kept unique_for_ms has no window to take it for, and runs without.
local function uniqueHolder(lock, id, taskPrefix)
  if not lock or lock == '' then return nil end
  local holder = redis.call('GET', lock)
  if holder and holder ~= id and not isFinished(redis.call('HGET', taskPrefix .. holder, 'status')) then
    return holder
  end
  return nil
end

local function takeUniqueLock(lock, forMs, id)
  if lock and lock ~= '' and tonumber(forMs) then redis.call('SET', lock, id, 'PX', forMs) end
end
