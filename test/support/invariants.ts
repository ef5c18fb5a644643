import { queueKeys, queueRegistryKey, TASK_STATUSES, TaskStatus } from '@app/queue';
import { scanKeys, TestRedis } from './redis';

/** RESULT_TTL_SECONDS' default (libs/config): how long a finished task's hash is kept. */
export const DEFAULT_RESULT_TTL_SECONDS = 86_400;

export interface InvariantOptions {
  /**
   * RESULT_TTL_SECONDS of the apps that wrote the queue (default 86400). Retained indexes
   * (`succeeded`, `cancelled`) are scored by each hash's expiry time, so an entry without a hash is
   * tolerated once its score is at or before now (Redis expired the hash; a sweep drops the entry
   * later), and never before. With 0, no retained entry may outlive its finish at all.
   */
  resultTtlSeconds?: number;
  /** RESULTS_BACKEND of the apps that wrote the queue (default redis): whether the archive index is a home. */
  resultsBackend?: 'redis' | 'postgres';
}

/** States whose index entries point at hashes that expire (RESULT_TTL_SECONDS). */
const RETAINED = new Set<TaskStatus>(['succeeded', 'cancelled']);

export interface PrefixInvariantOptions extends InvariantOptions {
  /** Also require every task hash under the prefix to be finished (`succeeded` or `dead`): a quiesced system. */
  requireFinished?: boolean;
}

const FINISHED = new Set<string>(['succeeded', 'dead', 'cancelled']);
const CHUNK = 1000;

/** Redis' clock in ms: index scores are written with it (the scripts' nowMs). */
async function redisNowMs(redis: TestRedis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** HMGET of the same fields on many keys of one queue (one slot, so one pipeline on a cluster too), in chunks. */
async function hmgetMany(redis: TestRedis, keys: string[], fields: string[]): Promise<(string | null)[][]> {
  const out: (string | null)[][] = [];
  for (let i = 0; i < keys.length; i += CHUNK) {
    const pipe = redis.pipeline();
    keys.slice(i, i + CHUNK).forEach((key) => pipe.hmget(key, ...fields));
    for (const [error, value] of (await pipe.exec()) ?? []) {
      if (error) throw error;
      out.push(value as (string | null)[]);
    }
  }
  return out;
}

/**
 * HMGET of each `[member, key]`'s fields together with whether `member` is still in the sorted set `index`,
 * one MULTI per chunk (the index and the hashes are one queue's: one slot). `'left'` for a member that
 * has left the index since it was listed.
 */
async function hmgetWhileIn(
  redis: TestRedis,
  index: string,
  members: [string, string][],
  fields: string[],
): Promise<((string | null)[] | 'left')[]> {
  const out: ((string | null)[] | 'left')[] = [];
  for (let i = 0; i < members.length; i += CHUNK) {
    const multi = redis.multi();
    members.slice(i, i + CHUNK).forEach(([member, key]) => multi.zscore(index, member).hmget(key, ...fields));
    const replies = (await multi.exec()) ?? [];
    for (let j = 0; j < replies.length; j += 2) {
      const [[scoreError, score], [hashError, values]] = [replies[j], replies[j + 1]];
      if (scoreError || hashError) throw scoreError ?? hashError;
      out.push(score === null ? 'left' : (values as (string | null)[]));
    }
  }
  return out;
}

/**
 * The queue's central invariant (docs/queue-invariants.md), strictly: every task id of the queue is
 * in exactly one home; every index entry has its hash (the one exception: a retained entry past its
 * expiry, see InvariantOptions); the hash's status names that home; a lease exactly when
 * active; every task hash of the queue is in a home. Returns the violations (empty = holds).
 *
 * With RESULTS_BACKEND=postgres the archive index is one more home: that of succeeded and cancelled
 * tasks (never in their TTL indexes then), and of dead tasks deleted from the DLQ before their row was
 * written. A dead task in the DLQ, or one requeued since (any unfinished state), may be in it as well,
 * with its row pending; every archive entry has its hash (a purged task's keeps only its revision, until
 * its row is removed). With redis the archive index stays empty.
 */
export async function checkQueueInvariant(
  redis: TestRedis,
  prefix: string,
  queue: string,
  options: InvariantOptions = {},
): Promise<string[]> {
  const ttlSeconds = options.resultTtlSeconds ?? DEFAULT_RESULT_TTL_SECONDS;
  const keys = queueKeys(prefix, queue);
  const homes: Record<TaskStatus, string> = {
    scheduled: keys.scheduled,
    queued: keys.queued,
    active: keys.active,
    retrying: keys.retrying,
    succeeded: keys.succeeded,
    dead: keys.dead,
    cancelled: keys.cancelled,
  };
  const now = await redisNowMs(redis);
  const seen = new Map<string, { statuses: TaskStatus[]; expiresAt?: number }>();
  for (const status of TASK_STATUSES) {
    const entries = await redis.zrange(homes[status], 0, -1, 'WITHSCORES');
    for (let i = 0; i < entries.length; i += 2) {
      const entry = seen.get(entries[i]) ?? { statuses: [] };
      entry.statuses.push(status);
      if (RETAINED.has(status)) entry.expiresAt = Number(entries[i + 1]);
      seen.set(entries[i], entry);
    }
  }

  // The ready list (priority 0) is the other home of queued tasks. A task cancelled there leaves its
  // entries as tombstones (its hash's `tombstones` counts them; a gone hash's entries are all stale);
  // an entry past those, of a queued task in no queued-set entry, is its home. Meta's ready_stale counts
  // every other entry.
  const [[listError, readyReply], [staleError, staleCount]] = ((await redis
    .multi()
    .lrange(keys.ready, 0, -1)
    .hget(keys.meta, 'ready_stale')
    .exec()) ?? []) as [Error | null, unknown][];
  if (listError || staleError) throw listError ?? staleError;
  const readyIds = readyReply as string[];
  const occurrences = new Map<string, number>();
  for (const id of readyIds) occurrences.set(id, (occurrences.get(id) ?? 0) + 1);
  const distinct = [...occurrences.keys()];
  const readyHashes = await hmgetMany(
    redis,
    distinct.map((id) => `${keys.taskPrefix}${id}`),
    ['status', 'tombstones'],
  );
  const readyProblems: string[] = [];
  let tombstones = 0;
  distinct.forEach((id, i) => {
    const [status, marked] = readyHashes[i];
    const count = occurrences.get(id)!;
    const marks = Number(marked ?? 0);
    if (marks > count)
      readyProblems.push(`${id} counts ${marks} tombstones but the ready list holds ${count} entries of it`);
    const home = status === 'queued' && count > marks && !seen.get(id)?.statuses.includes('queued');
    tombstones += count - (home ? 1 : 0);
    if (!home) return;
    const entry = seen.get(id) ?? { statuses: [] };
    entry.statuses.push('queued');
    seen.set(id, entry);
  });
  if (tombstones !== Number(staleCount ?? 0)) {
    readyProblems.push(`ready list of ${queue} holds ${tombstones} tombstones but ready_stale says ${staleCount ?? 0}`);
  }

  const postgres = options.resultsBackend === 'postgres';
  const archived = new Set(await redis.zrange(keys.archive, 0, -1));
  const problems: string[] = [...readyProblems];
  if (!postgres) for (const id of archived) problems.push(`${id} is in archive although RESULTS_BACKEND is redis`);
  const archivedOnly = [...archived].filter((id) => !seen.has(id));
  // Read with the entry in one MULTI: a running archiver settles a task (its row written, hash and entry
  // removed together) between the ZRANGE above and a separate read of the hash.
  const archivedHashes = await hmgetWhileIn(
    redis,
    keys.archive,
    archivedOnly.map((id) => [id, `${keys.taskPrefix}${id}`]),
    ['status', 'lease', 'rev'],
  );
  archivedOnly.forEach((id, i) => {
    if (archivedHashes[i] === 'left') return;
    const [status, lease, rev] = archivedHashes[i];
    // A purged task whose row is still to be removed keeps only its revision.
    if (status === null && rev === null) problems.push(`${id} is in archive but has no hash`);
    else if (status !== null && !FINISHED.has(status)) {
      problems.push(`${id} is only in archive but its status is ${status}`);
    }
    if (lease) problems.push(`${id} is in archive but still has a lease`);
  });
  const ids = [...seen.keys()];
  const hashes = await hmgetMany(
    redis,
    ids.map((id) => `${keys.taskPrefix}${id}`),
    ['status', 'lease'],
  );
  ids.forEach((id, i) => {
    const { statuses, expiresAt } = seen.get(id)!;
    const [status, lease] = hashes[i];
    const home = statuses[0];
    if (statuses.length > 1) problems.push(`${id} is in ${statuses.join(' and ')}`);
    if (expiresAt !== undefined && ttlSeconds <= 0 && expiresAt > now) {
      problems.push(`${id} is retained in ${home} until ${expiresAt} although RESULT_TTL_SECONDS is 0`);
    }
    if (status === null) {
      const expiredByDesign =
        RETAINED.has(home) && statuses.length === 1 && expiresAt !== undefined && expiresAt <= now;
      if (!expiredByDesign) {
        const due = expiresAt !== undefined ? ` (its hash was due to expire in ${expiresAt - now} ms)` : '';
        problems.push(`${id} is in ${home} but has no hash${due}`);
      }
    } else if (status !== home) {
      problems.push(`${id} is in ${home} but its status is ${status}`);
    }
    if (postgres && RETAINED.has(home)) {
      problems.push(`${id} is in ${home}, but with RESULTS_BACKEND=postgres finished tasks wait in archive`);
    }
    if (home === 'active' && !lease) problems.push(`${id} is active without a lease token`);
    if (home !== 'active' && lease) problems.push(`${id} is ${home} but still has a lease`);
  });

  // Every task hash of the queue must be in some home.
  const hashKeys = await scanKeys(redis, `${keys.taskPrefix}*`);
  const homeless = hashKeys.filter((key) => {
    const id = key.slice(keys.taskPrefix.length);
    return !seen.has(id) && !archived.has(id);
  });
  const homelessStatus = await hmgetMany(redis, homeless, ['status']);
  homeless.forEach((key, i) => {
    problems.push(`${key.slice(keys.taskPrefix.length)} has a hash (status ${homelessStatus[i][0]}) but no home`);
  });
  return problems;
}

/** The queues that have any key under the prefix, or are in its queue registry. */
export async function queuesUnder(redis: TestRedis, prefix: string): Promise<string[]> {
  const queues = new Set(await redis.smembers(queueRegistryKey(prefix)));
  for (const key of await scanKeys(redis, `${prefix}:{*}:*`)) {
    const tag = /^\{([^}]*)\}:/.exec(key.slice(prefix.length + 1));
    if (tag) queues.add(tag[1]);
  }
  return [...queues].sort();
}

/** Every task hash under the prefix, in every queue: id → the requested fields. */
export async function taskHashes(
  redis: TestRedis,
  prefix: string,
  fields: string[],
): Promise<Map<string, (string | null)[]>> {
  const out = new Map<string, (string | null)[]>();
  for (const queue of await queuesUnder(redis, prefix)) {
    const taskPrefix = queueKeys(prefix, queue).taskPrefix;
    const keys = await scanKeys(redis, `${taskPrefix}*`);
    const values = await hmgetMany(redis, keys, fields);
    keys.forEach((key, i) => out.set(key.slice(taskPrefix.length), values[i]));
  }
  return out;
}

/**
 * The invariant over everything a deployment wrote under `prefix`: checkQueueInvariant for every
 * queue found there, and with `requireFinished`, every task hash `succeeded` or `dead`.
 */
export async function checkPrefixInvariant(
  redis: TestRedis,
  prefix: string,
  options: PrefixInvariantOptions = {},
): Promise<string[]> {
  const problems: string[] = [];
  for (const queue of await queuesUnder(redis, prefix)) {
    problems.push(...(await checkQueueInvariant(redis, prefix, queue, options)));
  }
  if (options.requireFinished) {
    for (const [id, [status]] of await taskHashes(redis, prefix, ['status'])) {
      if (status === null || !FINISHED.has(status)) problems.push(`${id} is ${status}, not finished`);
    }
  }
  return problems;
}
