/** Task type names: 1–128 chars of [A-Za-z0-9_.:-]. */
export const TASK_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Queue names: 1–64 chars of [a-z0-9_-]; no braces, so the `{queue}` hash tag stays intact. */
export const QUEUE_NAME_PATTERN = /^[a-z0-9_-]{1,64}$/;
export const DEFAULT_QUEUE = 'default';
export const MIN_PRIORITY = -100;
export const MAX_PRIORITY = 100;
