import { scanKeys, TestRedis } from '@app/testing';

/**
 * Every key under the prefix, sorted (SCAN on every master, never KEYS). "Nothing written" compares
 * these sets: a count can stay equal while one key is written and another expires.
 */
export async function keySet(redis: TestRedis, prefix: string): Promise<string[]> {
  return (await scanKeys(redis, `${prefix}:*`)).sort();
}
