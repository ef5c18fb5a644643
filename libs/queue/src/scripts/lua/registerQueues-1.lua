--[[
  Adds queue names to the queue registry (the SET that `GET /queues` and the metrics list),
  refusing to grow it past MAX_QUEUES: queues cost keys, metric series and listing time, so an
  anonymous client must not be able to create them without bound. Names already registered
  always pass. The registry is one key on its own (never in a script with a queue's keys), so
  this holds on a Redis Cluster too.

  KEYS[1] registry (SET)
  ARGV[1] max queues (0 = no cap)   ARGV[2..] queue names

  Returns { 1 } when every name is registered; { -5, registered count } when the new names would
  pass the cap (nothing added).
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local max = intArg(ARGV[1], 'max queues', 0)
if #ARGV < 2 then badArg('queue names', #ARGV - 1, 'at least one') end
local fresh = {}
for i = 2, #ARGV do
  strArg(ARGV[i], 'queue name')
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then fresh[#fresh + 1] = ARGV[i] end
end
if #fresh == 0 then return { 1 } end
local count = redis.call('SCARD', KEYS[1])
if max > 0 and count + #fresh > max then return { CODE.LIMIT_REACHED, count } end
redis.call('SADD', KEYS[1], unpack(fresh))
return { 1 }
