--[[
  Fires a schedule: enqueues the tasks of its due ticks and advances its next run, in one call,
  only if the schedule is still exactly as the caller read it (compare-and-set on its revision and
  on the tick it waits for). Every scheduler replica may try the same tick; the first call moves the
  next run on, and every other call for that tick finds it moved and writes nothing: one task per
  tick, however many replicas. A tick still in the future by Redis' clock is refused, so a scheduler
  whose clock runs ahead cannot fire early.

  Tasks are written exactly as enqueueTasks writes an immediate task, plus `schedule_id` and
  `scheduled_at` (the tick), into `queued`, and idle workers are woken.

  KEYS[1] schedule hash   KEYS[2] the queue's schedules ZSET   KEYS[3] queued   KEYS[4] seq
  KEYS[5] wake list   KEYS[6] ready (LIST: the priority-0 lane, see the prelude)
  ARGV[1] task key prefix   ARGV[2] schedule id   ARGV[3] expected revision
  ARGV[4] expected tick (the schedule's stored next run, epoch ms)
  ARGV[5] next run after this fire (epoch ms; 0 = none: the schedule has no tick left)
  ARGV[6] number of ticks n (0 = advance only: the due ticks are skipped)   ARGV[7] task id prefix
  ARGV[8..] n ticks (epoch ms, ascending, from the expected tick on, before the next run)

  Returns { n, now, task id per tick } when fired (ids made as enqueueTasks makes them); { -1 } when
  the schedule is gone; { -2 } when it changed (revision, next run or enabled differ: another replica
  fired it, or it was edited); { -8, now } when a tick
  is still in the future by Redis' clock. Only a fire writes anything (a stale ZSET entry of a
  schedule that is gone or disabled is dropped).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local id = strArg(ARGV[2], 'schedule id')
local rev = intArg(ARGV[3], 'expected revision', 1)
local expected = intArg(ARGV[4], 'expected tick', 1)
local nextRun = intArg(ARGV[5], 'next run', 0)
local n = intArg(ARGV[6], 'tick count', 0, 1000)
local idPrefix = strArg(ARGV[7], 'task id prefix')
if groupCount(8, 1, 'ticks') ~= n then badArg('tick count', n, 'the number of ticks') end
local last = expected - 1
for i = 0, n - 1 do
  local tick = intArg(ARGV[8 + i], 'tick', expected)
  if tick <= last then badArg('tick', tick, 'ascending') end
  if nextRun > 0 and tick >= nextRun then badArg('tick', tick, 'before the next run ' .. nextRun) end
  last = tick
end
if nextRun > 0 and nextRun <= expected then badArg('next run', nextRun, 'after the expected tick ' .. expected) end

local f = redis.call('HMGET', KEYS[1], 'rev', 'next_run_at', 'enabled', 'pending',
  'task_type', 'payload', 'priority', 'max_retries', 'timeout_ms')
if not f[1] or f[4] then
  if not f[1] then redis.call('ZREM', KEYS[2], id) end
  return { CODE.NOT_FOUND }
end
if f[3] ~= '1' then
  redis.call('ZREM', KEYS[2], id)
  return { CODE.WRONG_STATE }
end
if tonumber(f[1]) ~= rev or tonumber(f[2]) ~= expected then return { CODE.WRONG_STATE } end
local now = nowMs()
if expected > now or (n > 0 and last > now) then return { CODE.NOT_DUE, now } end

local out = { n, now }
if n > 0 then
  local priority = priorityOf(f[7])
  local seq = redis.call('INCRBY', KEYS[4], n) - n
  local timePart = idTime(now)
  local queued, ready = {}, {}
  for i = 0, n - 1 do
    local tick, taskId = ARGV[8 + i], newTaskId(idPrefix, timePart, seq + i + 1)
    redis.call('HSET', prefix .. taskId,
      'type', f[5], 'payload', f[6], 'status', 'queued', 'schedule_id', id, 'scheduled_at', tick)
    storeRunSettings(prefix .. taskId, f[8], f[9])
    if priority == 0 then
      ready[#ready + 1] = taskId
    else
      redis.call('HSET', prefix .. taskId, 'priority', int(priority))
      queued[#queued + 1] = queuedScore(priority, seq + i + 1)
      queued[#queued + 1] = taskId
    end
    out[#out + 1] = taskId
  end
  if #queued > 0 then redis.call('ZADD', KEYS[3], unpack(queued)) end
  pushReady(KEYS[6], ready)
  wake(KEYS[5])
  redis.call('HSET', KEYS[1], 'last_run_at', ARGV[8 + n - 1], 'last_task_id', out[#out], 'last_fired_at', int(now))
  redis.call('HINCRBY', KEYS[1], 'runs', n)
end
if nextRun > 0 then
  redis.call('HSET', KEYS[1], 'next_run_at', int(nextRun))
  redis.call('ZADD', KEYS[2], int(nextRun), id)
else
  redis.call('HDEL', KEYS[1], 'next_run_at')
  redis.call('ZREM', KEYS[2], id)
end
return out
