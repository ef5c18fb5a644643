--[[
  The key schema migration (ADR 12): drops the fields of one task hash that hold their default, as
  the scripts no longer store them (priority 0, attempts 0, recoveries 0, next_run_at equal to the
  creation time, created_at when the id holds it, the UNSTORED run settings). Readers default every one of them, so the hash
  reads the same before and after. Idempotent; a hash that is gone is left alone.

  KEYS[1] the task hash
  ARGV[1] the task id

  Returns the number of fields dropped.
  Errors: TASKQ_BADARG (nothing written) when an argument is malformed.
]]
local id = strArg(ARGV[1], 'id')
return compactTaskHash(KEYS[1], id)
