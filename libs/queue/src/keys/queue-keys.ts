/**
 * Every Redis key of the queue, built here and nowhere else.
 * Layout: `<prefix>:{<queue>}:<part>`; the `{queue}` hash tag keeps one queue in one
 * Redis Cluster slot, so every Lua script's keys are co-located.
 */
export interface QueueKeys {
  /**
   * ZSET, score = priority band + enqueue sequence: tasks of non-zero priority, and priority-0 tasks put
   * back at the front (released, recovered) or written before the ready list existed.
   */
  queued: string;
  /**
   * LIST of priority-0 queued task ids (the common lane: a few bytes per task where a ZSET entry takes
   * over a hundred), claimed after the queued set's priority >= 0 and before its negative priorities.
   * A cancelled task's entry stays as a tombstone, counted in meta's `ready_stale`; meta's `ready_head`
   * counts the entries popped from its head, so an entry's position stays put (listing cursors).
   */
  ready: string;
  /** ZSET, score = due time (ms). */
  scheduled: string;
  /** ZSET, score = retry due time (ms). */
  retrying: string;
  /** ZSET, score = lease deadline (ms). */
  active: string;
  /**
   * ZSET index of retained succeeded tasks, score = when the task expires (ms). The hashes have no TTL (an
   * expiry entry per key costs Redis memory): acks, cancels and the recoverer delete the ones due.
   */
  succeeded: string;
  /** ZSET, score = death time (ms). */
  dead: string;
  /** ZSET index of retained cancelled tasks, score = when the task expires (ms); see `succeeded`. */
  cancelled: string;
  /**
   * ZSET of finished tasks whose record PostgreSQL has yet to get (RESULTS_BACKEND=postgres), score =
   * when an archiver may take the entry next (the finish time, or a claimed batch's lease deadline).
   * The home of succeeded and cancelled tasks in that mode; a dead task is listed here too while its
   * row is pending, and a requeued one until its row is removed.
   */
  archive: string;
  /**
   * HASH of the queue's controls (paused, rate_max, rate_per_ms, concurrency) and bookkeeping: served_at
   * (a worker's last sweep), purged (tasks purged from its waiting states), ready_head and ready_stale
   * (the ready list's popped entries and tombstones).
   */
  meta: string;
  /** HASH of per-minute outcome counts, `<kind>:<minute>` (s, d, r, c), for the last two hours. */
  throughput: string;
  /** ZSET of recent task starts (member = lease token, score = start ms): the rate limit's window. */
  rateLog: string;
  /** Prefix of idempotency records: `<idemPrefix><Idempotency-Key>` → body digest and task id. */
  idemPrefix: string;
  /** Prefix of uniqueness locks: `<uniquePrefix><uniqueLockSuffix(...)>` → task id. */
  uniquePrefix: string;
  /** Counter of dead tasks dropped by DLQ_MAX_SIZE. */
  deadTrimmed: string;
  /**
   * Enqueue sequence (FIFO within a priority), and the queue's registration mark: registration creates
   * it (QueueRegistry), forgetting deletes it, and the scripts that add tasks, schedules or controls
   * refuse a queue without it, so nothing lands in a queue the registry no longer lists.
   */
  seq: string;
  /** LIST that idle workers block on; enqueue pushes a marker. */
  wake: string;
  /** Short lock so only one worker at a time runs the recoverer. */
  recoverLock: string;
  /** Prefix of task hashes: `<taskPrefix><taskId>`. */
  taskPrefix: string;
  /** ZSET of the queue's enabled schedules, score = next run (ms): what the schedulers wake for. */
  schedules: string;
  /** Prefix of schedule hashes: `<schedulePrefix><scheduleId>` (definition, next run, last run). */
  schedulePrefix: string;
  /**
   * ZSET of every schedule of the queue, enabled or not: score 0, member `<name> <schedule id>`, so a
   * range by lex is a range by name (the space sorts before every name character). GET /schedules
   * pages it; MAX_SCHEDULES counts it.
   */
  scheduleIndex: string;
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:{${queue}}`;
  return {
    queued: `${base}:queued`,
    ready: `${base}:ready`,
    scheduled: `${base}:scheduled`,
    retrying: `${base}:retrying`,
    active: `${base}:active`,
    succeeded: `${base}:succeeded`,
    dead: `${base}:dead`,
    cancelled: `${base}:cancelled`,
    archive: `${base}:archive`,
    meta: `${base}:meta`,
    rateLog: `${base}:rate-log`,
    throughput: `${base}:throughput`,
    idemPrefix: `${base}:idem:`,
    uniquePrefix: `${base}:${UNIQUE_PART}`,
    deadTrimmed: `${base}:dead-trimmed`,
    seq: `${base}:seq`,
    wake: `${base}:wake`,
    recoverLock: `${base}:recover-lock`,
    taskPrefix: `${base}:t:`,
    schedules: `${base}:schedules`,
    schedulePrefix: `${base}:sched:`,
    scheduleIndex: `${base}:schedule-index`,
  };
}

const UNIQUE_PART = 'uniq:';
/** Marks a caller's unique key in a lock's name; a digest (base64url) never holds a ':'. */
const CALLER_KEY_MARK = 'k:';

/**
 * What names a uniqueness lock after the queue's uniquePrefix: a caller's key (`k:<unique_key>`) or
 * the digest of the task's type and payload. The two can never name the same lock.
 */
export function uniqueLockSuffix(lock: { callerKey: string } | { digest: string }): string {
  return 'callerKey' in lock ? `${CALLER_KEY_MARK}${lock.callerKey}` : lock.digest;
}

/**
 * The caller's unique key a task hash names in its `unique_key` field (the whole lock key, which the
 * scripts that finish the task free); null for a lock on type and payload, or none.
 */
export function callerKeyOfUniqueLock(lockKey: string | undefined): string | null {
  // Neither prefixes nor queue names hold braces, so the first `}:` ends the queue's hash tag.
  const at = lockKey?.indexOf(`}:${UNIQUE_PART}${CALLER_KEY_MARK}`) ?? -1;
  return at < 0 ? null : lockKey!.slice(at + 2 + UNIQUE_PART.length + CALLER_KEY_MARK.length);
}

/** SET of every queue name that ever received a task or had a worker; an index for listings. */
export function queueRegistryKey(prefix: string): string {
  return `${prefix}:queues`;
}

/** HASH worker id → its latest report (JSON): the workers the console lists. One key, used alone. */
export function workerRegistryKey(prefix: string): string {
  return `${prefix}:workers`;
}

/**
 * HASH queue → epoch ms of an HTTP worker's latest claim from it: the queues whose expired leases the
 * api recovers (no native worker may serve them). One key, used alone.
 */
export function remoteQueuesKey(prefix: string): string {
  return `${prefix}:remote-queues`;
}

/**
 * HASH schedule name → schedule id, over every queue: names are unique per deployment. The one
 * schedule key outside a queue's slot, so it is always used alone (never with a queue's keys in
 * one script). An entry whose schedule hash is gone, or names another schedule, is stale: readers
 * treat it as absent.
 */
export function scheduleNamesKey(prefix: string): string {
  return `${prefix}:schedule-names`;
}

/**
 * STRING set once every schedule written before the per-queue schedule index existed has been put in
 * its queue's index (ScheduleStore.ensureIndexed). One key, used alone.
 */
export function schedulesIndexedKey(prefix: string): string {
  return `${prefix}:schedules-indexed`;
}

/**
 * STRING: the key schema version the data under the prefix is in (absent: 1, or a deployment never
 * migrated). The migration (SchemaMigration) writes it last. One key, used alone.
 */
export function schemaVersionKey(prefix: string): string {
  return `${prefix}:schema`;
}

/** STRING with a PX: held by the one process migrating the key schema (SchemaMigration). One key, used alone. */
export function schemaMigrationLockKey(prefix: string): string {
  return `${prefix}:schema-migration-lock`;
}

/**
 * Task types defined at run time (PUT /task-types/{name}): a HASH of name -> definition (JSON), and
 * the field `#version` (a name never holds `#`) counting every change, which api replicas poll.
 */
export function taskTypesKey(prefix: string): string {
  return `${prefix}:task-types`;
}

/**
 * A key that never exists: readiness sends `SET <it> 1 XX`, which writes nothing, yet Redis refuses
 * it like any write while it is out of memory (noeviction) or a read-only replica.
 */
export function writeProbeKey(prefix: string): string {
  return `${prefix}:write-probe`;
}

/**
 * Pub/sub channels (not keys: a cluster delivers a PUBLISH to every node's subscribers).
 * `cancel`: `<task id> <lease token>` when an active task is cancelled, for the worker holding it.
 * `finished`: `<task id>` when a task someone waits for reaches a terminal state.
 * `schedules`: `<queue>` when a schedule of that queue was saved, so schedulers look again at once.
 */
export function queueChannels(prefix: string): { cancel: string; finished: string; schedules: string } {
  return { cancel: `${prefix}:cancel`, finished: `${prefix}:finished`, schedules: `${prefix}:schedules` };
}

/** The hash key of a task, or undefined when the id is not a task id. */
export function taskKey(prefix: string, taskId: string): string | undefined {
  const queue = queueOfTaskId(taskId);
  return queue === undefined ? undefined : `${queueKeys(prefix, queue).taskPrefix}${taskId}`;
}

/**
 * Task ids are `<queue>.<t><l><s>`, made by the scripts that create tasks (newTaskId in their prelude):
 * `t` the creation time in ms as 9 base-36 digits, `s` the task's sequence number in its queue in
 * base 36 and `l` its length (one base-36 digit), so ids sort as text in creation order and none is
 * a prefix of another. The queue name makes `GET /tasks/{id}` one lookup in the right Cluster slot ("." cannot
 * occur in a queue name, so the split is unambiguous), and the time is the task's created_at, which
 * its hash does not store. Ids made before are `<queue>.<uuid>` and stay valid.
 */
const QUEUE_NAME_SOURCE = '[a-z0-9_-]{1,64}';
const ID_TIME_DIGITS = 9;
/** A sequence number below 2^53 has at most 11 base-36 digits; its length digit says how many follow. */
const SHORT_ID_SOURCE = `[0-9a-z]{${ID_TIME_DIGITS}}(?:${Array.from({ length: 11 }, (_, i) => `${(i + 1).toString(36)}[0-9a-z]{${i + 1}}`).join('|')})`;
const ID_TAIL_SOURCE = `(?:${SHORT_ID_SOURCE}|[0-9a-f-]{36})`;
/** A task id as a regular expression's source, for patterns that embed one (listing cursors). */
export const TASK_ID_SOURCE = `${QUEUE_NAME_SOURCE}\\.${ID_TAIL_SOURCE}`;
const TASK_ID_PATTERN = new RegExp(`^(${QUEUE_NAME_SOURCE})\\.(${ID_TAIL_SOURCE})$`);

export function queueOfTaskId(taskId: string): string | undefined {
  return TASK_ID_PATTERN.exec(taskId)?.[1];
}

export function isTaskId(taskId: string): boolean {
  return TASK_ID_PATTERN.test(taskId);
}

/** What every id of a queue's tasks starts with; the scripts append the rest. */
export function taskIdPrefix(queue: string): string {
  return `${queue}.`;
}

/** The creation time (epoch ms) an id of the current form holds; null for the earlier uuid form. */
export function createdAtOfTaskId(taskId: string): number | null {
  const rest = TASK_ID_PATTERN.exec(taskId)?.[2];
  if (rest === undefined || rest.includes('-')) return null;
  return parseInt(rest.slice(0, ID_TIME_DIGITS), 36);
}

/**
 * Schedule ids are `<queue>~<uuid>`: like task ids they name their queue (one lookup in the right
 * Cluster slot), and "~" occurs neither in queue names nor in schedule names, so an id is never
 * mistaken for a name.
 */
const SCHEDULE_ID_PATTERN = /^([a-z0-9_-]{1,64})~([0-9a-f-]{36})$/;

export function queueOfScheduleId(scheduleId: string): string | undefined {
  return SCHEDULE_ID_PATTERN.exec(scheduleId)?.[1];
}

export function isScheduleId(value: string): boolean {
  return SCHEDULE_ID_PATTERN.test(value);
}
