import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';

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
