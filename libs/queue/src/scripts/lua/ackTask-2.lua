--[[
  Marks an active task succeeded, if the caller still holds its lease.

  KEYS[1] active   KEYS[2] succeeded (index scored by finish time)
  ARGV[1] task key prefix   ARGV[2] id   ARGV[3] lease token
  ARGV[4] result (JSON, '' for none)   ARGV[5] result retention in seconds (0 = delete now)

  Returns 1, or -3 when the lease is no longer the caller's (expired and recovered, or gone).
]]
local key = ARGV[1] .. ARGV[2]
if redis.call('HGET', key, 'lease') ~= ARGV[3] then return -3 end
local now = nowMs()
local ttl = tonumber(ARGV[5])
redis.call('ZREM', KEYS[1], ARGV[2])
if ttl <= 0 then
  redis.call('DEL', key)
else
  redis.call('HSET', key, 'status', 'succeeded', 'finished_at', int(now), 'result', ARGV[4])
  redis.call('HDEL', key, 'lease')
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', KEYS[2], int(now), ARGV[2])
  -- The index forgets what the hashes' TTL already dropped.
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now - ttl * 1000))
end
return 1
