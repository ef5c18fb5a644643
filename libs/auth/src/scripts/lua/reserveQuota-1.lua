--[[
  Takes `tasks` and `bytes` from a subject's quota for the current window, or refuses without
  writing anything. The window opens with the first reservation and lasts `window ms` (the
  counter expires with it).

  KEYS[1] the subject's quota counter (HASH: tasks, bytes)
  ARGV[1] tasks   ARGV[2] payload bytes   ARGV[3] task quota (0 = none)   ARGV[4] byte quota (0 = none)
  ARGV[5] window ms

  Returns { 1, 0, 0 } taken; { -1, tasks used, ms left in the window } over the task quota;
  { -2, bytes used, ms left } over the byte quota (ms left is the window when none is open).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local tasks = intArg(ARGV[1], 'tasks', 0)
local bytes = intArg(ARGV[2], 'bytes', 0)
local maxTasks = intArg(ARGV[3], 'task quota', 0)
local maxBytes = intArg(ARGV[4], 'byte quota', 0)
local windowMs = intArg(ARGV[5], 'window ms', 1)
local used = redis.call('HMGET', KEYS[1], 'tasks', 'bytes')
local usedTasks = tonumber(used[1]) or 0
local usedBytes = tonumber(used[2]) or 0
-- PTTL is -2 when no window is open and -1 for a counter without expiry: both open a new window.
local ttl = redis.call('PTTL', KEYS[1])
local left = ttl >= 0 and ttl or windowMs
if maxTasks > 0 and usedTasks + tasks > maxTasks then return { -1, usedTasks, left } end
if maxBytes > 0 and usedBytes + bytes > maxBytes then return { -2, usedBytes, left } end
redis.call('HINCRBY', KEYS[1], 'tasks', tasks)
redis.call('HINCRBY', KEYS[1], 'bytes', bytes)
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], windowMs) end
return { 1, 0, 0 }
