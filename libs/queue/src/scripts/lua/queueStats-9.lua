--[[
  Counts per state and the age of the oldest queued task (read-only).
  The queued set is ordered by priority, so the oldest task is found among the heads of the
  non-empty priority bands: one ranged lookup per band that has tasks, and the head of the ready list
  (its first few entries, past tombstones).

  KEYS[1] scheduled   KEYS[2] queued   KEYS[3] active   KEYS[4] retrying   KEYS[5] succeeded   KEYS[6] dead
  KEYS[7] cancelled   KEYS[8] meta (served_at: when a worker last served the queue, see claimTasks; purged)
  KEYS[9] ready (LIST: the priority-0 lane, see the prelude)
  ARGV[1] task key prefix

  Returns { scheduled, queued, active, retrying, succeeded, dead, cancelled, oldest queued age ms
            (-1 if none), paused (0/1), rate max, rate per ms, concurrency (-1 = none),
            ms since a worker last served the queue (-1 = never), tasks purged (purgeTasks) }
  Errors: TASKQ_BADARG when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local now = nowMs()
local oldest = -1
local from = '-inf'
while true do
  local head = redis.call('ZRANGEBYSCORE', KEYS[2], from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if not head[1] then break end
  local at = redis.call('HMGET', prefix .. head[1], 'next_run_at', 'created_at')
  local since = tonumber(at[1]) or createdAtOf(head[1], at[2])
  if since and (oldest < 0 or since < oldest) then oldest = since end
  local band = math.floor(tonumber(head[2]) / BAND)
  from = int((band + 1) * BAND)
end
for _, id in ipairs(redis.call('LRANGE', KEYS[9], 0, 9)) do
  local at = redis.call('HMGET', prefix .. id, 'next_run_at', 'created_at', 'status')
  if at[3] == 'queued' then
    local since = tonumber(at[1]) or createdAtOf(id, at[2])
    if since and (oldest < 0 or since < oldest) then oldest = since end
    break
  end
end
local meta = redis.call('HMGET', KEYS[8], 'paused', 'rate_max', 'rate_per_ms', 'concurrency', 'served_at', 'purged')
local age = -1
if oldest >= 0 then age = math.max(0, now - oldest) end
local servedAgo = -1
if tonumber(meta[5]) then servedAgo = math.max(0, now - tonumber(meta[5])) end
return {
  redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]) + readyCount(KEYS[9], KEYS[8]), redis.call('ZCARD', KEYS[3]),
  redis.call('ZCARD', KEYS[4]), redis.call('ZCOUNT', KEYS[5], '(' .. int(now), '+inf'),
  redis.call('ZCARD', KEYS[6]), redis.call('ZCOUNT', KEYS[7], '(' .. int(now), '+inf'), age,
  meta[1] == '1' and 1 or 0, tonumber(meta[2]) or -1, tonumber(meta[3]) or -1, tonumber(meta[4]) or -1,
  int(servedAgo), tonumber(meta[6]) or 0
}
