/** Injection tokens of libs/queue. */
export const REDIS_CLIENT = Symbol('taskq:redis-client');

/** Claim scripts promote at most this many due scheduled/retrying tasks per call. */
export const PROMOTE_BATCH = 500;
/** The recoverer takes at most this many expired leases per script call. */
export const RECOVER_BATCH = 500;
