import Redis from 'ioredis';

/**
 * Every key under the prefix, sorted (SCAN, never KEYS). "Nothing written" compares these sets:
 * a count can stay equal while one key is written and another expires.
 */
export async function keySet(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}
