--[[
  Sets, keeps or clears a live API key's own rate limit and quota (PATCH /auth/keys/{id}). A
  revoked or unknown key is not brought back: nothing is written for it.

  KEYS[1] the key's record (HASH)
  ARGV[1..7] the limits (see ownLimitsArgs in _prelude.lua): 'keep', 'set' or 'clear' for the rate
  limit and then for the quota

  Returns the record after the change (HGETALL, flat); an empty list when no live key has this id.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local limits = ownLimitsArgs(1)
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
writeOwnLimits(KEYS[1], limits)
return redis.call('HGETALL', KEYS[1])
