import Redis from 'ioredis';
import { createHash, randomBytes } from 'node:crypto';

/** The Redis the tests use: scripts/test.js sets REDIS_URL (an existing server or a throwaway one). */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test uses. */
export function uniquePrefix(label = 't'): string {
  return `taskq-test:${label}:${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under the prefix (SCAN, never KEYS). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Thrown from a waitFor condition to stop polling at once (e.g. the process being waited on died). */
export class GiveUp extends Error {
  constructor(readonly cause: Error) {
    super(cause.message);
  }
}

/** Polls `condition` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as T;
    } catch (error) {
      if (error instanceof GiveUp) throw error.cause;
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * What a database holds, key by key: a digest of each key's serialized value (DUMP) and its absolute
 * expiry (PEXPIRETIME), so "nothing was written" is checked as "nothing changed", not as "the key
 * count is the same". The connection's whole logical database, or only the keys under `prefix`.
 */
export async function snapshotKeys(redis: Redis, prefix?: string): Promise<Map<string, string>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', prefix ? `${prefix}:*` : '*', 'COUNT', 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  keys.sort();
  const out = new Map<string, string>();
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const pipe = redis.pipeline();
    chunk.forEach((key) => pipe.dumpBuffer(key).call('PEXPIRETIME', key));
    const replies = (await pipe.exec()) ?? [];
    chunk.forEach((key, j) => {
      const [[dumpError, dump], [expiryError, expiry]] = [replies[2 * j], replies[2 * j + 1]];
      if (dumpError || expiryError) throw dumpError ?? expiryError;
      // A key deleted between SCAN and DUMP reads as gone.
      if (dump === null) return;
      const digest = createHash('sha256')
        .update(dump as Buffer)
        .digest('hex');
      out.set(key, `${digest} expires ${String(expiry)}`);
    });
  }
  return out;
}

/** How two snapshots differ: keys added (+), removed (-), changed (~); empty = the same. */
export function diffSnapshots(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [key, value] of after) {
    if (!before.has(key)) out.push(`+ ${key}`);
    else if (before.get(key) !== value) out.push(`~ ${key}`);
  }
  for (const key of before.keys()) if (!after.has(key)) out.push(`- ${key}`);
  return out;
}
