--[[
  Adds tasks to one queue: each id goes to `queued`, or to `scheduled` when it has a future run_at.
  Every group is checked before the first write, so a bad task in the middle of a batch leaves no
  orphan hashes: the batch is written whole or not at all.

  KEYS[1] queued     KEYS[2] scheduled     KEYS[3] seq (enqueue counter)     KEYS[4] wake list
  ARGV[1] task key prefix
  ARGV[2] number of tasks n
  ARGV[3..] n groups of 7: id, type, payload (JSON), priority, max_retries, timeout_ms,
            delay (ms from now, 0 = now; or a negative absolute epoch ms for run_at)

  Returns the number of tasks that went straight to `queued`.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local n = intArg(ARGV[2], 'task count', 1)
if groupCount(3, 7, 'task fields') ~= n then badArg('task count', n, 'the number of 7-field groups') end
for i = 0, n - 1 do
  local base = 3 + i * 7
  strArg(ARGV[base], 'id')
  strArg(ARGV[base + 1], 'type')
  intArg(ARGV[base + 3], 'priority', MIN_PRIORITY, MAX_PRIORITY)
  intArg(ARGV[base + 4], 'max_retries', 0)
  intArg(ARGV[base + 5], 'timeout_ms', 0)
  intArg(ARGV[base + 6], 'delay')
end

local now = nowMs()
local nowArg = int(now)
local seq = redis.call('INCRBY', KEYS[3], n) - n
-- Members go to ZADD in chunks (one call per chunk, not one per task), under Lua's unpack limit.
local queued, scheduled = {}, {}
local function add(key, list, score, id)
  list[#list + 1] = score
  list[#list + 1] = id
  if #list >= 1000 then
    redis.call('ZADD', key, unpack(list))
    for j = #list, 1, -1 do list[j] = nil end
  end
end
local queuedCount = 0
for i = 0, n - 1 do
  local base = 3 + i * 7
  local id = ARGV[base]
  local delay = tonumber(ARGV[base + 6])
  local due = now
  if delay > 0 then due = now + delay elseif delay < 0 then due = -delay end
  local dueArg = nowArg
  if due ~= now then dueArg = int(due) end
  local status = 'queued'
  if due > now then status = 'scheduled' end
  redis.call('HSET', prefix .. id,
    'type', ARGV[base + 1], 'payload', ARGV[base + 2], 'priority', ARGV[base + 3],
    'max_retries', ARGV[base + 4], 'timeout_ms', ARGV[base + 5],
    'attempts', '0', 'recoveries', '0', 'status', status,
    'created_at', nowArg, 'next_run_at', dueArg)
  if status == 'queued' then
    add(KEYS[1], queued, queuedScore(tonumber(ARGV[base + 3]), seq + i + 1), id)
    queuedCount = queuedCount + 1
  else
    add(KEYS[2], scheduled, dueArg, id)
  end
end
if #queued > 0 then redis.call('ZADD', KEYS[1], unpack(queued)) end
if #scheduled > 0 then redis.call('ZADD', KEYS[2], unpack(scheduled)) end
wake(KEYS[4])
return queuedCount
