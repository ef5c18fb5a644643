import { scanKeys, TestRedis } from './redis';

/**
 * A deployment's Redis keys as a JSON file, written by one release and loaded by a later one's tests (the
 * migration to a new key schema is tested on what the previous release's own scripts wrote, not on a
 * hand-written imitation). Keys are stored without their prefix; times are moved on load so that a lease,
 * a due time or an expiry lies as far ahead of the loading test's clock as it did when written.
 */
export interface KeyFixture {
  /** What wrote it: the release and the command. */
  writtenBy: string;
  /** Epoch ms when it was written: every epoch-ms value is moved by (load time - this). */
  writtenAt: number;
  /** Every key under the prefix, the prefix replaced by `~`. */
  keys: FixtureKey[];
}

type FixtureKey =
  | { key: string; pttl: number; type: 'string'; value: string }
  | { key: string; pttl: number; type: 'hash'; value: Record<string, string> }
  | { key: string; pttl: number; type: 'list' | 'set'; value: string[] }
  | { key: string; pttl: number; type: 'zset'; value: [string, string][] };

/** An epoch-ms time within this of the fixture's writing (a year back, two ahead: delays go to 365 days). */
const TIME_WINDOW_MS = 2 * 365 * 86_400_000;
const isTime = (value: string, writtenAt: number) =>
  /^\d{13}$/.test(value) && Math.abs(Number(value) - writtenAt) < TIME_WINDOW_MS;

/** Every key under `prefix`, read on the node that holds it. Redis must be idle under the prefix. */
export async function dumpKeys(redis: TestRedis, prefix: string, writtenBy: string): Promise<KeyFixture> {
  const writtenAt = Date.now();
  const names = (await scanKeys(redis, `${prefix}:*`)).sort();
  const keys: FixtureKey[] = [];
  for (const name of names) {
    const key = `~${name.slice(prefix.length)}`;
    const [type, pttl] = [await redis.type(name), await redis.pttl(name)];
    if (type === 'string') keys.push({ key, pttl, type, value: (await redis.get(name))! });
    else if (type === 'hash') keys.push({ key, pttl, type, value: await redis.hgetall(name) });
    else if (type === 'list') keys.push({ key, pttl, type, value: await redis.lrange(name, 0, -1) });
    else if (type === 'set') keys.push({ key, pttl, type, value: (await redis.smembers(name)).sort() });
    else if (type === 'zset') {
      const flat = await redis.zrange(name, 0, -1, 'WITHSCORES');
      const pairs: [string, string][] = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
      keys.push({ key, pttl, type, value: pairs });
    } else throw new Error(`${name}: a ${type} key; the fixture holds strings, hashes, lists, sets and sorted sets`);
  }
  return { writtenBy, writtenAt, keys };
}

/**
 * Writes a fixture's keys under `prefix`, each epoch-ms value (a hash field, a sorted-set score, a string)
 * moved by the time since it was written. Returns how far times moved.
 */
export async function loadKeys(redis: TestRedis, fixture: KeyFixture, prefix: string): Promise<number> {
  const shift = Date.now() - fixture.writtenAt;
  const moved = (value: string) => (isTime(value, fixture.writtenAt) ? String(Number(value) + shift) : value);
  for (const entry of fixture.keys) {
    const name = `${prefix}${entry.key.slice(1)}`;
    if (entry.type === 'string') await redis.set(name, moved(entry.value));
    else if (entry.type === 'hash') {
      await redis.hset(name, Object.fromEntries(Object.entries(entry.value).map(([f, v]) => [f, moved(v)])));
    } else if (entry.type === 'list') await redis.rpush(name, ...entry.value);
    else if (entry.type === 'set') await redis.sadd(name, ...entry.value);
    else await redis.zadd(name, ...entry.value.flatMap(([member, score]) => [moved(score), member]));
    if (entry.pttl > 0) await redis.pexpire(name, entry.pttl);
  }
  return shift;
}
