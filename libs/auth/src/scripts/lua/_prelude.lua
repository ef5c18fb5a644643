-- libs/auth's helpers, prepended to its scripts after the queue's prelude (script-loader.ts).

-- createApiKey's refusals, by name (api-key.store.ts: AUTH_SCRIPT_CODE, held equal by a test).
local AUTH_CODE = {
  KEY_ID_TAKEN = -2,
  KEY_REVOKED = -3,
}

-- A credential's own limits as 7 arguments from ARGV[first]: the rate limit's mode ('keep', 'set',
-- 'clear'), max and window ms; the quota's mode, tasks and payload bytes (0: not counted) and window
-- seconds. Checked whole before the caller writes anything.
local LIMIT_MODES = { 'keep', 'set', 'clear' }
local function ownLimitsArgs(first)
  local limits = {
    rate = oneOfArg(ARGV[first], 'rate mode', LIMIT_MODES),
    rateMax = intArg(ARGV[first + 1], 'rate max', 0),
    ratePerMs = intArg(ARGV[first + 2], 'rate window ms', 0),
    quota = oneOfArg(ARGV[first + 3], 'quota mode', LIMIT_MODES),
    quotaTasks = intArg(ARGV[first + 4], 'quota tasks', 0),
    quotaBytes = intArg(ARGV[first + 5], 'quota bytes', 0),
    quotaPerSeconds = intArg(ARGV[first + 6], 'quota window s', 0),
  }
  if limits.rate == 'set' and (limits.rateMax < 1 or limits.ratePerMs < 1) then
    badArg('rate', limits.rateMax .. '/' .. limits.ratePerMs, 'a max and a window of at least 1')
  end
  if limits.quota == 'set' and (limits.quotaPerSeconds < 1 or limits.quotaTasks + limits.quotaBytes < 1) then
    badArg('quota', limits.quotaPerSeconds, 'a window of at least 1 s and tasks or bytes to count')
  end
  return limits
end

-- Writes what ownLimitsArgs read into a key's record (HASH): 'set' replaces that limit, 'clear'
-- removes it (the environment's default applies again), 'keep' leaves it.
local function writeOwnLimits(key, limits)
  if limits.rate == 'set' then
    redis.call('HSET', key, 'rate_max', int(limits.rateMax), 'rate_per_ms', int(limits.ratePerMs))
  elseif limits.rate == 'clear' then
    redis.call('HDEL', key, 'rate_max', 'rate_per_ms')
  end
  if limits.quota ~= 'keep' then redis.call('HDEL', key, 'quota_tasks', 'quota_bytes', 'quota_per_seconds') end
  if limits.quota == 'set' then
    redis.call('HSET', key, 'quota_per_seconds', int(limits.quotaPerSeconds))
    if limits.quotaTasks > 0 then redis.call('HSET', key, 'quota_tasks', int(limits.quotaTasks)) end
    if limits.quotaBytes > 0 then redis.call('HSET', key, 'quota_bytes', int(limits.quotaBytes)) end
  end
end
