--[[
  Leases part of a subject's allowance in the current fixed window (a rate limit's requests, a
  quota's tasks and bytes): at least `need` of every count, and up to `want` where the window has
  room, or refuses without writing anything. An api replica spends what it leased in memory
  (libs/auth allowance.ts), so a steady stream of requests costs one call here per lease, not one
  per request; the counter only ever grows, so every replica together stays within the limit. The
  window opens with the first lease and lasts `window ms` (the counter expires with it).

  KEYS[1] the subject's counter (HASH: one field per count)
  ARGV[1] window ms
  ARGV[2..] one group of 4 per count (1 or 2): field, need, want (at least need), limit (at least 1)

  Returns { 1, ms left in the window, granted of each count... } leased (need <= granted <= want);
  { -i, used of count i, ms left } count i has no room for its need (ms left is the window when none
  is open). Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local windowMs = intArg(ARGV[1], 'window ms', 1)
local n = groupCount(2, 4, 'counts')
if n < 1 or n > 2 then badArg('counts', n, '1 or 2') end
local counts = {}
for i = 1, n do
  local at = 2 + (i - 1) * 4
  local count = {
    field = oneOfArg(ARGV[at], 'field', { 'requests', 'tasks', 'bytes' }),
    need = intArg(ARGV[at + 1], 'need', 0),
    want = intArg(ARGV[at + 2], 'want', 0),
    limit = intArg(ARGV[at + 3], 'limit', 1),
  }
  if count.want < count.need then badArg('want', count.want, 'at least need (' .. count.need .. ')') end
  counts[i] = count
end
-- PTTL is -2 when no window is open and -1 for a counter without expiry: both open a new window.
local ttl = redis.call('PTTL', KEYS[1])
local left = ttl >= 0 and ttl or windowMs
local granted = {}
for i, count in ipairs(counts) do
  local used = tonumber(redis.call('HGET', KEYS[1], count.field)) or 0
  local room = count.limit - used
  if room < count.need then return { -i, used, left } end
  granted[i] = math.min(count.want, room)
end
for i, count in ipairs(counts) do
  if granted[i] > 0 then redis.call('HINCRBY', KEYS[1], count.field, int(granted[i])) end
end
if ttl < 0 and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], windowMs) end
local reply = { 1, left }
for i = 1, n do reply[2 + i] = granted[i] end
return reply
