--[[
  Reads a page of the ready list (the priority-0 lane, see the prelude) for a listing of queued tasks,
  read-only. Each entry is shown with a listing score, READY_SCORES + its position (ready_head + its
  index), which stays put while the entry waits and falls between the queued set's priority-0 and
  priority -1 scores: merged with the queued set by score, a listing shows tasks in the order claims
  take them, and resumes after its cursor however many tasks were claimed meanwhile.

  KEYS[1] ready   KEYS[2] meta (ready_head)
  ARGV[1] the listing score to read after (the cursor's; -1 = from the start)   ARGV[2] most entries

  Returns { listing score of the first entry returned, then the ids in order } (scores rise by one per
  entry), or {} when the cursor is past the ready list's scores.
  Errors: TASKQ_BADARG when an argument is malformed.
]]
local after = intArg(ARGV[1], 'listing score', -1)
local count = intArg(ARGV[2], 'count', 1, 10000)
if after >= NEGATIVE_SCORES then return {} end
local head = tonumber(redis.call('HGET', KEYS[2], 'ready_head')) or 0
local start = 0
if after >= READY_FLOOR then start = math.max(0, after - READY_SCORES + 1 - head) end
local out = { int(READY_SCORES + head + start) }
for _, id in ipairs(redis.call('LRANGE', KEYS[1], start, start + count - 1)) do out[#out + 1] = id end
return out
