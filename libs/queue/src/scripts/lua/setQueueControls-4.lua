--[[
  Pauses, resumes, or sets the rate limit and concurrency cap of a registered queue. A queue without
  its registration mark (forgotten, or registered by a version without marks) is refused, so no
  control is left behind in a forgotten queue; the caller checks the registry, marks the queue and
  calls again (see queue-registry.ts). Resume and new limits wake idle workers.

  KEYS[1] seq (registration mark)   KEYS[2] meta   KEYS[3] rate log   KEYS[4] wake list
  ARGV[1] action: pause | resume | limits
  limits: ARGV[2] rate max ('' = no rate limit)   ARGV[3] rate window ms   ARGV[4] concurrency ('' = none)

  Returns { 1 } when applied; { -9 } (nothing written) when the queue has no registration mark.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local action = oneOfArg(ARGV[1], 'action', { 'pause', 'resume', 'limits' })
local rateMax, ratePerMs, concurrency
if action == 'limits' then
  if ARGV[2] ~= '' then
    rateMax = intArg(ARGV[2], 'rate max', 0)
    ratePerMs = intArg(ARGV[3], 'rate window ms', 1)
  end
  if ARGV[4] ~= '' then concurrency = intArg(ARGV[4], 'concurrency', 0) end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return { CODE.UNREGISTERED } end
if action == 'pause' then
  redis.call('HSET', KEYS[2], 'paused', '1')
  return { 1 }
end
if action == 'resume' then
  redis.call('HDEL', KEYS[2], 'paused')
else
  if rateMax then
    redis.call('HSET', KEYS[2], 'rate_max', int(rateMax), 'rate_per_ms', int(ratePerMs))
  else
    redis.call('HDEL', KEYS[2], 'rate_max', 'rate_per_ms')
    redis.call('DEL', KEYS[3])
  end
  if concurrency then
    redis.call('HSET', KEYS[2], 'concurrency', int(concurrency))
  else
    redis.call('HDEL', KEYS[2], 'concurrency')
  end
end
wake(KEYS[4])
return { 1 }
