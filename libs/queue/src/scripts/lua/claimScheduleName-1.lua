--[[
  Points a schedule name at a schedule id in the name index, if the name is free or still points
  where the caller saw it point (compare-and-set): a stale entry (its schedule gone) is taken over
  by one caller only. The index is one key on its own, used alone (Redis Cluster).

  KEYS[1] name index (HASH name → schedule id)
  ARGV[1] name   ARGV[2] schedule id to set   ARGV[3] id the caller saw ('' = the name was free)

  Returns { 1 } when set; { 0, current id } when the name points elsewhere (nothing written).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local name = strArg(ARGV[1], 'name')
local id = strArg(ARGV[2], 'schedule id')
local seen = ARGV[3] or ''
local current = redis.call('HGET', KEYS[1], name) or ''
if current ~= seen and current ~= id then return { 0, current } end
redis.call('HSET', KEYS[1], name, id)
return { 1 }
