--[[
  Stores a new API key (its record and index entry), or, in `ensure` mode (the bootstrap admin
  key from the environment), leaves an identical one as it is (its limits too, as PATCH left them).
  An id is never issued twice: not while its key lives, not after it was revoked.

  KEYS[1] the key's record (HASH)   KEYS[2] index of live ids (ZSET, score 0)   KEYS[3] revoked ids (SET)
  ARGV[1] id   ARGV[2] SHA-256 of the secret (hex)   ARGV[3] name   ARGV[4] scopes (comma-separated)
  ARGV[5] queues (comma-separated; '*' = every queue)   ARGV[6] 'create' or 'ensure'
  ARGV[7..13] its own limits (see ownLimitsArgs in _prelude.lua): 'set' or 'clear' (none of its own) for
  the rate limit and then for the quota

  Returns { 1, created_at ms } created; { 0, created_at ms } ensure found the same key;
  { -2 } the id holds another key; { -3 } the id was revoked.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[1], 'id')
local hash = strArg(ARGV[2], 'hash')
local name = strArg(ARGV[3], 'name')
local scopes = strArg(ARGV[4], 'scopes')
local queues = strArg(ARGV[5], 'queues')
local mode = oneOfArg(ARGV[6], 'mode', { 'create', 'ensure' })
local limits = ownLimitsArgs(7)
if limits.rate == 'keep' or limits.quota == 'keep' then badArg('limit mode', 'keep', 'set or clear for a new key') end
if redis.call('SISMEMBER', KEYS[3], id) == 1 then return { AUTH_CODE.KEY_REVOKED } end
local existing = redis.call('HMGET', KEYS[1], 'hash', 'created_at')
if existing[1] then
  if mode == 'ensure' and existing[1] == hash then return { 0, tonumber(existing[2]) } end
  return { AUTH_CODE.KEY_ID_TAKEN }
end
local now = int(nowMs())
redis.call('HSET', KEYS[1], 'hash', hash, 'name', name, 'scopes', scopes, 'queues', queues, 'created_at', now)
writeOwnLimits(KEYS[1], limits)
redis.call('ZADD', KEYS[2], 0, id)
return { 1, now }
