import Redis from 'ioredis';
import { queueKeys, TASK_STATUSES, TaskStatus } from '@app/queue';

/**
 * The queue's central invariant (shared/QUEUE-SEMANTICS.md): every task id of the queue is in
 * exactly one home, and its hash's status names that home. Returns the violations (empty = holds).
 */
export async function checkQueueInvariant(redis: Redis, prefix: string, queue: string): Promise<string[]> {
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
  const seen = new Map<string, TaskStatus[]>();
  for (const status of TASK_STATUSES) {
    for (const id of await redis.zrange(homes[status], 0, -1)) {
      seen.set(id, [...(seen.get(id) ?? []), status]);
    }
  }
  const problems: string[] = [];
  for (const [id, statuses] of seen) {
    if (statuses.length > 1) problems.push(`${id} is in ${statuses.join(' and ')}`);
    const hash = await redis.hgetall(`${keys.taskPrefix}${id}`);
    if (!hash.status) {
      if (!statuses.includes('succeeded') && !statuses.includes('cancelled'))
        problems.push(`${id} is in ${statuses[0]} but has no hash`);
    } else if (hash.status !== statuses[0]) {
      problems.push(`${id} is in ${statuses[0]} but its status is ${hash.status}`);
    }
    if (statuses[0] === 'active' && !hash.lease) problems.push(`${id} is active without a lease token`);
    if (statuses[0] !== 'active' && hash.lease) problems.push(`${id} is ${statuses[0]} but still has a lease`);
  }
  // Every task hash of the queue must be in some home.
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.taskPrefix}*`, 'COUNT', 1000);
    for (const key of found) {
      const id = key.slice(keys.taskPrefix.length);
      if (!seen.has(id)) problems.push(`${id} has a hash (status ${await redis.hget(key, 'status')}) but no home`);
    }
    cursor = next;
  } while (cursor !== '0');
  return problems;
}
