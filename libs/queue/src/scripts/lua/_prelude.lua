-- Prepended to every script by script-loader.ts (files starting with "_" are not commands).
-- All keys one script touches share the queue's {hash tag}, so they live in one Cluster slot;
-- task hash keys are built here from the task-key prefix passed in ARGV, inside that same tag.

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

-- Integers as Redis arguments without Lua's %.14g rounding.
local function int(n)
  return string.format('%.0f', n)
end

-- Enforces DLQ_MAX_SIZE (0 = unlimited): drops the oldest dead tasks and counts them.
local function trimDead(deadKey, trimmedKey, taskPrefix, maxSize)
  if maxSize <= 0 then return 0 end
  local excess = redis.call('ZCARD', deadKey) - maxSize
  if excess <= 0 then return 0 end
  local popped = redis.call('ZPOPMIN', deadKey, excess)
  for i = 1, #popped, 2 do
    redis.call('DEL', taskPrefix .. popped[i])
  end
  redis.call('INCRBY', trimmedKey, excess)
  return excess
end

-- Wakes idle workers blocked on the wake list; a few markers are enough to wake them all in turn.
local function wake(wakeKey)
  if redis.call('LLEN', wakeKey) < 4 then
    redis.call('RPUSH', wakeKey, '1')
  end
end
