--[[
  Runs a finished task again, under the same id: it goes back to `queued` with its attempts and
  recoveries reset; its attempt history stays (a succeeded run joins it), and what described the end
  (finished_at, started_at, dead_reason, cancelled_at, result, worker) goes. `only` says which tasks:
  'dead', the dead-letter requeue (a dead task still in the dead-letter queue), or 'finished' (POST
  /tasks/{id}/retry: succeeded, dead or cancelled). A task submitted with unique_for_ms takes its
  uniqueness lock again, for its unique_for_ms from now; while another unfinished task holds it, the
  retry is refused.

  Finished mode 'expire' (RESULTS_BACKEND=redis): a retained hash loses its TTL and leaves its index.
  'archive' (postgres): the task goes (back) into `archive` with a new revision; the archiver, finding
  it unfinished, removes its PostgreSQL row (a write of an older revision in flight cannot outlive that,
  see libs/results). It is written again when it finishes again.

  KEYS[1] dead   KEYS[2] succeeded index   KEYS[3] cancelled index   KEYS[4] queued   KEYS[5] seq
  KEYS[6] wake list   KEYS[7] archive   KEYS[8] ready (LIST: the priority-0 lane, see the prelude)
  KEYS[9] meta (ready_stale: a cancelled task's tombstone still in the ready list is revived)
  ARGV[1] task key prefix   ARGV[2] id   ARGV[3] finished mode: 'expire' or 'archive'
  ARGV[4] only: 'dead' or 'finished'

  Returns { 1 }; { -1 } when the task does not exist; { -2, status } when it is not in a state the
  retry takes ({ -2, 'dead', 'deleted' }: dead, but deleted from the dead-letter queue, its hash kept
  only until its row is written); { -7, holder } when another unfinished task holds its uniqueness lock.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local prefix = strArg(ARGV[1], 'task key prefix')
local id = strArg(ARGV[2], 'id')
local key = prefix .. id
local archive = oneOfArg(ARGV[3], 'finished mode', FINISHED_MODES) == 'archive'
local only = oneOfArg(ARGV[4], 'only', { 'dead', 'finished' })

local f = redis.call('HMGET', key, 'status', 'unique_key', 'unique_for_ms', 'priority')
local status = f[1]
if not status then return { CODE.NOT_FOUND } end
if not FINISHED[status] or (only == 'dead' and status ~= 'dead') then return { CODE.WRONG_STATE, status } end
if only == 'dead' and not redis.call('ZSCORE', KEYS[1], id) then return { CODE.WRONG_STATE, status, 'deleted' } end
local holder = uniqueHolder(f[2], id, prefix)
if holder then return { CODE.UNIQUE_CONFLICT, holder } end

local now = nowMs()
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
if status == 'succeeded' then storeSucceededRun(key) end
if not (status == 'cancelled' and reviveReady(KEYS[9], key)) then
  addQueued(KEYS[4], KEYS[8], priorityOf(f[4]), redis.call('INCR', KEYS[5]), id)
end
redis.call('HSET', key, 'status', 'queued', 'next_run_at', int(now))
redis.call('HDEL', key, 'attempts', 'recoveries', 'dead_reason', 'finished_at', 'started_at', 'cancelled_at',
  'result', 'worker')
-- Only a retained hash has a TTL (the ACL of an older deployment may not allow PERSIST: a requeue needs none).
if redis.call('PTTL', key) > 0 then redis.call('PERSIST', key) end
takeUniqueLock(f[2], f[3], id)
if archive then toArchive(KEYS[7], key, id, now) end
wake(KEYS[6])
return { 1 }
