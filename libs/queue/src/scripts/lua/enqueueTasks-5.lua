--[[
  Adds tasks to one queue: each id goes to `queued`, or to `scheduled` when it has a future run_at.
  Every group is checked, and every idempotency and uniqueness claim is resolved, before the first
  write: a batch is written whole or not at all.

  Idempotency: a task with an idempotency key whose record exists with the same body digest is not
  written again (replayed: its original id comes back); with another digest it is a conflict. The
  record lives IDEMPOTENCY_TTL_SECONDS. Uniqueness: a task with a unique key is refused while the task
  that holds the key is unfinished (the key expires after unique_for_ms, and is freed when that task
  finishes), and so is a second task with the same unique key in the same call: one by one, the
  first would be written and hold the key; a call is written whole or not at all, so it is refused.

  A queue without its registration mark (KEYS[3] seq exists from registration until the queue is
  forgotten) is refused before anything is read or written: the caller registers it again and calls
  again, so no task lands in a queue that was forgotten meanwhile (see queue-registry.ts).

  KEYS[1] queued     KEYS[2] scheduled     KEYS[3] seq (enqueue counter; the registration mark)     KEYS[4] wake list
  KEYS[5] ready (LIST: the priority-0 lane, see the prelude)
  ARGV[1] task key prefix   ARGV[2] idempotency key prefix   ARGV[3] unique key prefix
  ARGV[4] idempotency record TTL seconds
  ARGV[5] number of tasks n   ARGV[6] task id prefix (`<queue>.`)
  ARGV[7..] n groups of 11: type, payload (JSON), priority, max_retries, timeout_ms,
            delay (ms from now, 0 = now; or a negative absolute epoch ms for run_at),
            idempotency key ('' = none), body digest, unique key ('' = none), unique_for_ms,
            backoff (the task's own, as stored; '' = none: its type's applies)

  Ids are made here (newTaskId in the prelude): the i-th task of the call gets sequence number
  seq + i, whether it is written or not.

  Returns { queuedCount, then per task: code, id }: code 1 written (id = its id), 2 replayed (id = the
  original task), -6 idempotency key reused with another body, -7 unique key held by an unfinished
  task (id = that task, or the id the earlier task of this call that took the key would have had). On
  any -6 or -7 nothing is written and queuedCount is 0; the other codes say what would have been (a
  code 1 whose id a conflict names is the task of this call in the way). { -9 } when the queue has no
  registration mark: nothing written.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local FIELDS = 11
local FIRST = 7
local prefix = strArg(ARGV[1], 'task key prefix')
local idemPrefix = strArg(ARGV[2], 'idempotency key prefix')
local uniquePrefix = strArg(ARGV[3], 'unique key prefix')
local idemTtl = intArg(ARGV[4], 'idempotency TTL seconds', 1)
local n = intArg(ARGV[5], 'task count', 1)
local idPrefix = strArg(ARGV[6], 'task id prefix')
if groupCount(FIRST, FIELDS, 'task fields') ~= n then badArg('task count', n, 'the number of 11-field groups') end
for i = 0, n - 1 do
  local base = FIRST + i * FIELDS
  strArg(ARGV[base], 'type')
  intArg(ARGV[base + 2], 'priority', MIN_PRIORITY, MAX_PRIORITY)
  intArg(ARGV[base + 3], 'max_retries', 0)
  intArg(ARGV[base + 4], 'timeout_ms', 0)
  intArg(ARGV[base + 5], 'delay')
  if ARGV[base + 6] ~= '' then strArg(ARGV[base + 7], 'body digest') end
  if ARGV[base + 8] ~= '' then intArg(ARGV[base + 9], 'unique_for_ms', 1) end
end
local seqAt = redis.call('GET', KEYS[3])
if not seqAt then return { CODE.UNREGISTERED } end
seqAt = tonumber(seqAt)
local now = nowMs()
local nowArg = int(now)
local timePart = idTime(now)

-- Resolve idempotency and uniqueness for the whole batch before writing anything.
local out = { 0 }
local conflict = false
local replayedIn = {}  -- idempotency keys created earlier in this same call: key -> { digest, id }
local uniqueIn = {}    -- unique keys claimed earlier in this same call: key -> id
local write = {}
local ids = {}
for i = 0, n - 1 do
  local base = FIRST + i * FIELDS
  local id = newTaskId(idPrefix, timePart, seqAt + i + 1)
  ids[i] = id
  local idem, digest, unique = ARGV[base + 6], ARGV[base + 7], ARGV[base + 8]
  local code, shown = 1, id
  if idem ~= '' then
    local seen = replayedIn[idem]
    if not seen then
      local record = redis.call('GET', idemPrefix .. idem)
      if record then
        local split = string.find(record, '\n', 1, true)
        seen = { string.sub(record, 1, split - 1), string.sub(record, split + 1) }
      end
    end
    if seen then
      if seen[1] == digest then code, shown = 2, seen[2] else code, shown = CODE.IDEMPOTENCY_CONFLICT, seen[2] end
    else
      replayedIn[idem] = { digest, id }
    end
  end
  if code == 1 and unique ~= '' then
    -- A holder from this call has no hash yet (it is written below): it holds the key all the same.
    local holder = uniqueIn[unique]
    if not holder then
      holder = redis.call('GET', uniquePrefix .. unique)
      if holder and isFinished(redis.call('HGET', prefix .. holder, 'status')) then holder = nil end
    end
    if holder then
      code, shown = CODE.UNIQUE_CONFLICT, holder
    else
      uniqueIn[unique] = id
    end
  end
  if code < 0 then conflict = true end
  write[i] = code == 1
  out[#out + 1] = code
  out[#out + 1] = shown
end
if conflict then return out end

redis.call('INCRBY', KEYS[3], n)
-- Members go to ZADD in chunks (one call per chunk, not one per task), under Lua's unpack limit.
local queued, scheduled, ready = {}, {}, {}
local function add(key, list, score, id)
  list[#list + 1] = score
  list[#list + 1] = id
  if #list >= 1000 then
    redis.call('ZADD', key, unpack(list))
    for j = #list, 1, -1 do list[j] = nil end
  end
end
local queuedCount, writtenCount = 0, 0
for i = 0, n - 1 do
  if write[i] then
    writtenCount = writtenCount + 1
    local base = FIRST + i * FIELDS
    local id = ids[i]
    local delay = tonumber(ARGV[base + 5])
    local due = now
    if delay > 0 then due = now + delay elseif delay < 0 then due = -delay end
    local dueArg = nowArg
    if due ~= now then dueArg = int(due) end
    local status = 'queued'
    if due > now then status = 'scheduled' end
    local key = prefix .. id
    -- Defaults are not stored (see priorityOf in the prelude): priority 0, no attempts or recoveries
    -- yet, created_at (the id holds it), next_run_at unless it is later, and the UNSTORED settings.
    redis.call('HSET', key, 'type', ARGV[base], 'payload', ARGV[base + 1], 'status', status)
    storeRunSettings(key, ARGV[base + 3], ARGV[base + 4])
    if tonumber(ARGV[base + 2]) ~= 0 then redis.call('HSET', key, 'priority', ARGV[base + 2]) end
    if dueArg ~= nowArg then redis.call('HSET', key, 'next_run_at', dueArg) end
    local idem, unique = ARGV[base + 6], ARGV[base + 8]
    if idem ~= '' then
      redis.call('SET', idemPrefix .. idem, ARGV[base + 7] .. '\n' .. id, 'EX', idemTtl)
    end
    if unique ~= '' then
      redis.call('SET', uniquePrefix .. unique, id, 'PX', ARGV[base + 9])
      -- The whole lock key, so the scripts that finish the task can free it (onFinished), and its
      -- window, so a retry can take it again (retryTask).
      redis.call('HSET', key, 'unique_key', uniquePrefix .. unique, 'unique_for_ms', ARGV[base + 9])
    end
    if ARGV[base + 10] ~= '' then redis.call('HSET', key, 'backoff', ARGV[base + 10]) end
    if status == 'queued' then
      local priority = tonumber(ARGV[base + 2])
      if priority == 0 then
        ready[#ready + 1] = id
      else
        add(KEYS[1], queued, queuedScore(priority, seqAt + i + 1), id)
      end
      queuedCount = queuedCount + 1
    else
      add(KEYS[2], scheduled, dueArg, id)
    end
  end
end
if #queued > 0 then redis.call('ZADD', KEYS[1], unpack(queued)) end
if #scheduled > 0 then redis.call('ZADD', KEYS[2], unpack(scheduled)) end
pushReady(KEYS[5], ready)
if writtenCount > 0 then wake(KEYS[4]) end
out[1] = queuedCount
return out
