--[[
  Settles entries an archiver claimed (claimArchive), once its PostgreSQL transaction has ended.

  'written' (committed): each entry whose hash still has the revision written leaves the archive
  index, and the hash goes with it unless the task still lives in Redis (dead and in the dead-letter
  queue, or requeued since; the hash of a purged task, which kept only its revision, goes). An entry
  whose revision moved on meanwhile stays: the archiver writes its new revision next. So a task is
  always in Redis, in PostgreSQL, or both; never in neither.
  'failed' (not committed): the entries are due again at once.

  KEYS[1] archive   KEYS[2] dead
  ARGV[1] task key prefix   ARGV[2] 'written' or 'failed'   ARGV[3..] pairs of id, revision

  Returns { entries settled, hashes deleted, entries kept because their revision moved on }.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local written = oneOfArg(ARGV[2], 'outcome', { 'written', 'failed' }) == 'written'
groupCount(3, 2, 'id/revision pairs')
for i = 3, #ARGV, 2 do
  strArg(ARGV[i], 'id')
  intArg(ARGV[i + 1], 'revision', 0)
end

local now = nowMs()
local settled, deleted, kept = 0, 0, 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local key = prefix .. id
  if not written then
    if redis.call('ZSCORE', KEYS[1], id) then
      redis.call('ZADD', KEYS[1], 'XX', int(now), id)
      settled = settled + 1
    end
  elseif redis.call('ZSCORE', KEYS[1], id) then
    local f = redis.call('HMGET', key, 'rev', 'status')
    if (f[1] or '0') ~= ARGV[i + 1] then
      kept = kept + 1
    else
      redis.call('ZREM', KEYS[1], id)
      settled = settled + 1
      local status = f[2]
      -- No status: a purged task, of which only the revision was kept until its row was removed.
      if not status or status == 'succeeded' or status == 'cancelled'
        or (status == 'dead' and not redis.call('ZSCORE', KEYS[2], id)) then
        redis.call('DEL', key)
        deleted = deleted + 1
      end
    end
  end
end
return { settled, deleted, kept }
