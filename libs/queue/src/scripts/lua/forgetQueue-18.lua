--[[
  Forgets an empty queue: deletes its bookkeeping keys (controls included) when no task of it is in
  any state (scheduled, queued, active, retrying, retained succeeded, dead, retained cancelled) and no
  schedule enqueues into it. Deleting `seq` removes the queue's registration mark, so a producer that
  still believes the queue registered is refused (enqueueTasks) and registers it again.

  The caller has already removed the name from the registry (another slot, so another call) and puts
  it back when this refuses: a submit that registered the queue before that removal either wrote its
  task before this check (refused: the queue is listed again) or finds the mark gone (registers anew).

  KEYS[1] scheduled   KEYS[2] queued   KEYS[3] active   KEYS[4] retrying   KEYS[5] succeeded
  KEYS[6] dead   KEYS[7] cancelled   KEYS[8] dead-trimmed counter   KEYS[9] seq (registration mark)
  KEYS[10] wake list   KEYS[11] recover lock   KEYS[12] meta   KEYS[13] rate log   KEYS[14] archive (tasks
  PostgreSQL has yet to get count as left in the queue)   KEYS[15] throughput
  KEYS[16] schedules (enabled, by next run)   KEYS[17] schedule index (every schedule, by name)
  KEYS[18] ready (LIST: the priority-0 lane; only tombstones left in it do not count)
  ARGV[1] how many schedule names to report when there are schedules   ARGV[2] task key prefix
  (expired entries of the succeeded index do not count)

  Returns { 1 }, or { -2, tasks still in the queue, schedules of the queue, up to ARGV[1] of their names }.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local shown = intArg(ARGV[1], 'schedule names shown', 0, 100)
local prefix = strArg(ARGV[2], 'task key prefix')
local now = nowMs()
sweepFinished(KEYS[5], prefix, now, SWEEP_LIMIT)
sweepFinished(KEYS[7], prefix, now, SWEEP_LIMIT)
local left = 0
for i = 1, 7 do left = left + redis.call('ZCARD', KEYS[i]) end
left = left + redis.call('ZCARD', KEYS[14])
-- The ready list counts its tasks, not its tombstones; a short list is read entry by entry rather than
-- trusting the tombstone count, and a long one counts at least one, so no waiting task is deleted.
local readyLength = redis.call('LLEN', KEYS[18])
if readyLength > 0 and readyLength <= 1000 then
  for _, id in ipairs(redis.call('LRANGE', KEYS[18], 0, -1)) do
    if redis.call('HGET', prefix .. id, 'status') == 'queued' then left = left + 1 end
  end
elseif readyLength > 0 then
  left = left + math.max(1, readyCount(KEYS[18], KEYS[12]))
end
-- The index lists every schedule; the enabled ones are in KEYS[16] too (and there alone for a
-- schedule written by a version without the index, until it is indexed).
local schedules = math.max(redis.call('ZCARD', KEYS[17]), redis.call('ZCARD', KEYS[16]))
if left > 0 or schedules > 0 then
  local out = { CODE.WRONG_STATE, left, schedules }
  if shown > 0 then
    for _, member in ipairs(redis.call('ZRANGE', KEYS[17], 0, shown - 1)) do
      out[#out + 1] = string.match(member, '^(%S+)')
    end
  end
  return out
end
redis.call('DEL', KEYS[5], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[15], KEYS[18])
return { 1 }
