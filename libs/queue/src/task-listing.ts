import { redisCall } from './errors/queue-error';
import { isTaskId, QueueKeys, queueKeys, queueOfTaskId, TASK_ID_SOURCE } from './keys/queue-keys';
import { readyRange } from './scripts/queue-scripts';
import { QueueRedis } from './scripts/script-loader';
import { FINISHED_STATUSES, TaskRecord, TaskStatus, TaskSummary } from './task';
import { SUMMARY_FIELDS, toTaskRecord, toTaskSummary } from './task-record';

/**
 * A position in a listing: `<index score>:<task id>` of the last task of the page before. A
 * position, not an offset: tasks arriving or leaving meanwhile shift no page, so paging never shows
 * a task twice or skips one that stayed put.
 */
export const TASK_CURSOR_PATTERN = new RegExp(`^(-?\\d{1,17}):(${TASK_ID_SOURCE})$`);

/** Finished states list the newest first; waiting states in the order they run (or are due). */
const NEWEST_FIRST = new Set<TaskStatus>(FINISHED_STATUSES);

/** Tasks a listing examines at most per request, matches or not (a task_type or search filter may match few). */
export const MAX_SCANNED_PER_PAGE = 5000;

/** Index entries read per round trip while a filter skips tasks (a page of 50 would take 100 of them). */
const FILTERED_BATCH = 500;

/** The length a search text must have: 3 characters at least (a trigram), 200 at most. */
export const SEARCH_LIMITS = { minLength: 3, maxLength: 200 } as const;

/**
 * Whether a task matches a search text `q`, the same way in Redis and in the PostgreSQL history: its
 * id starts with q, or its last error or dead reason contains q; case-insensitive.
 */
export function matchesSearch(q: string, id: string, lastError?: string | null, deadReason?: string | null): boolean {
  const needle = q.toLowerCase();
  return (
    id.startsWith(needle) ||
    (!!lastError && lastError.toLowerCase().includes(needle)) ||
    (!!deadReason && deadReason.includes(needle))
  );
}

const HOME: Record<TaskStatus, keyof QueueKeys> = {
  scheduled: 'scheduled',
  queued: 'queued',
  active: 'active',
  retrying: 'retrying',
  succeeded: 'succeeded',
  dead: 'dead',
  cancelled: 'cancelled',
};

interface Entry {
  queue: string;
  id: string;
  score: number;
}

export interface ListQuery<Full extends boolean> {
  queues: readonly string[];
  status: TaskStatus;
  /** Only tasks of this type. */
  taskType?: string;
  /**
   * Only tasks matching this text (matchesSearch); a whole task id is looked up directly (that task,
   * if it is in the state and queues listed).
   */
  search?: string;
  limit: number;
  cursor?: string;
  /** Whole records (payload, result, last error) instead of summaries. */
  full: Full;
  /** Summaries with `lastError` too (bounded by the worker's truncation; payloads are not read). */
  withLastError?: boolean;
}

export interface ListPage<T> {
  tasks: T[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

/**
 * One page of the tasks in one state across `queues`, read from the state's index in each queue (a
 * bounded range from the cursor, merged), then the page's hashes in one pipeline per queue. A task
 * that left the state between the two reads is left out, so a page may be shorter than `limit`.
 */
export async function listTasks<Full extends boolean>(
  redis: QueueRedis,
  prefix: string,
  query: ListQuery<Full>,
): Promise<ListPage<Full extends true ? TaskRecord : TaskSummary>> {
  if (query.search !== undefined && isTaskId(query.search.toLowerCase())) return lookUp(redis, prefix, query);
  const descending = NEWEST_FIRST.has(query.status);
  const filtered = query.taskType !== undefined || query.search !== undefined;
  let after = parseCursor(query.cursor);
  const page: (TaskRecord | TaskSummary)[] = [];
  let scanned = 0;
  let last: Entry | undefined;
  let more = false;
  const seen = new Set<string>();
  while (page.length < query.limit && scanned < MAX_SCANNED_PER_PAGE) {
    const batch = Math.min(
      filtered ? Math.max(query.limit, FILTERED_BATCH) : query.limit,
      MAX_SCANNED_PER_PAGE - scanned,
    );
    const candidates = (
      await Promise.all(
        query.queues.flatMap((queue) => {
          const keys = queueKeys(prefix, queue);
          const reads = [entriesAfter(redis, queue, keys[HOME[query.status]], batch + 1, descending, after)];
          // Queued priority-0 tasks wait in the ready list, listed by scores that merge with the set's.
          if (query.status === 'queued') reads.push(readyEntriesAfter(redis, queue, keys, batch + 1, after));
          return reads;
        }),
      )
    ).flat();
    candidates.sort((a, b) => compare(a, b, descending));
    const take = candidates.slice(0, batch);
    const hashes = await readHashes(redis, prefix, take, query.full, query.withLastError || query.search !== undefined);
    more = candidates.length > take.length;
    for (let i = 0; i < take.length; i++) {
      last = take[i];
      scanned++;
      const hash = hashes[i];
      if (!hash?.status || hash.status !== query.status) continue;
      // A cancelled task restored from PostgreSQL while its tombstone still waits has two ready entries: shown once.
      if (seen.has(last.id)) continue;
      seen.add(last.id);
      if (query.taskType !== undefined && hash.type !== query.taskType) continue;
      if (query.search !== undefined && !matchesSearch(query.search, last.id, hash.last_error, hash.dead_reason)) {
        continue;
      }
      if (query.full) page.push(toTaskRecord(last.id, last.queue, hash));
      else if (query.withLastError)
        page.push({ ...toTaskSummary(last.id, last.queue, hash), lastError: hash.last_error ?? null });
      else page.push(toTaskSummary(last.id, last.queue, hash));
      if (page.length === query.limit) {
        more ||= i < take.length - 1;
        break;
      }
    }
    if (!more) break;
    after = last;
  }
  return {
    tasks: page as (Full extends true ? TaskRecord : TaskSummary)[],
    nextCursor: more && last ? `${last.score}:${last.id}` : null,
  };
}

/** A search for a whole task id: one read of that task, shown if the listing would show it. */
async function lookUp<Full extends boolean>(
  redis: QueueRedis,
  prefix: string,
  query: ListQuery<Full>,
): Promise<ListPage<Full extends true ? TaskRecord : TaskSummary>> {
  const id = query.search!.toLowerCase();
  const queue = queueOfTaskId(id)!;
  const none = { tasks: [], nextCursor: null };
  if (!query.queues.includes(queue) || query.cursor !== undefined) return none;
  const [hash] = await readHashes(redis, prefix, [{ queue, id, score: 0 }], query.full, true);
  if (!hash?.status || hash.status !== query.status) return none;
  if (query.taskType !== undefined && hash.type !== query.taskType) return none;
  const summary = toTaskSummary(id, queue, hash);
  const task = query.full
    ? toTaskRecord(id, queue, hash)
    : query.withLastError
      ? { ...summary, lastError: hash.last_error ?? null }
      : summary;
  return { tasks: [task] as (Full extends true ? TaskRecord : TaskSummary)[], nextCursor: null };
}

function parseCursor(cursor?: string): Entry | undefined {
  if (cursor === undefined) return undefined;
  const match = TASK_CURSOR_PATTERN.exec(cursor);
  if (!match) throw new Error(`not a task listing cursor: ${cursor}`);
  return { queue: '', score: Number(match[1]), id: match[2] };
}

/** The order of one index read, across queues: by score, ties by id (as Redis orders them). */
function compare(a: Entry, b: Entry, descending: boolean): number {
  const byScore = descending ? b.score - a.score : a.score - b.score;
  if (byScore !== 0) return byScore;
  if (a.id === b.id) return 0;
  return (a.id < b.id ? -1 : 1) * (descending ? -1 : 1);
}

/** Up to `count` entries of one index strictly after `after` in the listing order. */
async function entriesAfter(
  redis: QueueRedis,
  queue: string,
  key: string,
  count: number,
  descending: boolean,
  after?: Entry,
): Promise<Entry[]> {
  const out: Entry[] = [];
  // Entries tied with the cursor's score come first; skip the ones at or before it, reading on past
  // them when there are more than a batch.
  for (let offset = 0; ; offset += count) {
    const reply = await redisCall('listTasks', () =>
      descending
        ? redis.zrevrangebyscore(key, after ? after.score : '+inf', '-inf', 'WITHSCORES', 'LIMIT', offset, count)
        : redis.zrangebyscore(key, after ? after.score : '-inf', '+inf', 'WITHSCORES', 'LIMIT', offset, count),
    );
    for (let i = 0; i < reply.length; i += 2) {
      const entry = { queue, id: reply[i], score: Number(reply[i + 1]) };
      if (after && entry.score === after.score && compare(entry, after, descending) <= 0) continue;
      out.push(entry);
      if (out.length === count) return out;
    }
    if (reply.length < count * 2) return out;
  }
}

/** Up to `count` entries of a queue's ready list strictly after `after` (ascending: queued only). */
async function readyEntriesAfter(
  redis: QueueRedis,
  queue: string,
  keys: QueueKeys,
  count: number,
  after?: Entry,
): Promise<Entry[]> {
  const entries = await redisCall('listTasks', () =>
    readyRange.run(redis, keys, { after: after ? Math.max(-1, after.score) : -1, count }),
  );
  return entries.map((entry) => ({ queue, ...entry }));
}

/** The entries' hashes (whole, or the summary fields), one pipeline per queue. */
async function readHashes(
  redis: QueueRedis,
  prefix: string,
  entries: Entry[],
  full: boolean,
  withLastError = false,
): Promise<(Record<string, string> | undefined)[]> {
  const fields = withLastError ? [...SUMMARY_FIELDS, 'last_error'] : SUMMARY_FIELDS;
  const byQueue = new Map<string, number[]>();
  entries.forEach((entry, i) => byQueue.set(entry.queue, [...(byQueue.get(entry.queue) ?? []), i]));
  const out: (Record<string, string> | undefined)[] = new Array(entries.length);
  await Promise.all(
    [...byQueue].map(([queue, indexes]) =>
      redisCall('listTasks', async () => {
        const taskPrefix = queueKeys(prefix, queue).taskPrefix;
        const pipeline = redis.pipeline();
        for (const i of indexes) {
          if (full) pipeline.hgetall(`${taskPrefix}${entries[i].id}`);
          else pipeline.hmget(`${taskPrefix}${entries[i].id}`, ...fields);
        }
        const replies = (await pipeline.exec()) ?? [];
        indexes.forEach((i, j) => {
          const [error, value] = replies[j] ?? [];
          if (error) throw error;
          out[i] = full
            ? (value as Record<string, string>)
            : Object.fromEntries(
                fields.map((field, k) => [field, (value as (string | null)[])[k]]).filter(([, v]) => v !== null),
              );
        });
      }),
    ),
  );
  return out;
}
