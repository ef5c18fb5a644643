/** Injection tokens of libs/results. */

/** The pg Pool, or null when RESULTS_BACKEND is redis. */
export const PG_POOL = Symbol('taskq:pg-pool');
