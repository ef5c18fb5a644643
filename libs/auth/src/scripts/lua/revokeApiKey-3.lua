--[[
  Revokes an API key: its record and index entry go, and its id joins the revoked set (never
  issued again; a revoked bootstrap key is not recreated at the next boot).

  KEYS[1] the key's record (HASH)   KEYS[2] index of live ids (ZSET)   KEYS[3] revoked ids (SET)
  ARGV[1] id

  Returns 1 revoked; 0 no such live key (nothing written).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[1], 'id')
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], id)
redis.call('SADD', KEYS[3], id)
return 1
