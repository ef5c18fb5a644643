import Redis from 'ioredis';
import { deleteByPrefix, diffSnapshots, snapshotKeys, TEST_REDIS_URL, uniquePrefix, waitFor } from '@app/testing';
import { API_KEY_CACHE_MS, ApiKeyStore } from './api-key.store';
import { authKeys } from './keys/auth-keys';
import { QuotaExceeded, QuotaKeeper } from './quota';

/** libs/auth's Redis side on a real Redis: API key records and the quota scripts. */
describe('libs/auth on a real Redis', () => {
  const prefix = uniquePrefix('auth');
  const clients: Redis[] = [];
  const client = () => {
    const redis = new Redis(TEST_REDIS_URL);
    clients.push(redis);
    return redis;
  };

  afterAll(async () => {
    await deleteByPrefix(clients[0], prefix);
    clients.forEach((redis) => redis.disconnect());
  });

  it('creates a key shown once, stores only its hash, verifies it, lists it, and revokes it everywhere', async () => {
    const store = new ApiKeyStore(client(), { prefix });
    const other = new ApiKeyStore(client(), { prefix }); // a second api replica
    const { key, record } = await store.create({ name: 'ci', scopes: ['submit', 'read'], queues: ['emails'] });
    expect(record).toMatchObject({ name: 'ci', scopes: ['submit', 'read'], queues: ['emails'] });
    const stored = await clients[0].hgetall(authKeys(prefix).apiKey(record.id));
    expect(JSON.stringify(stored)).not.toContain(key.slice(16));
    expect(await other.verify(key)).toMatchObject({ id: record.id, name: 'ci' });
    expect(await other.verify(`${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`)).toBeUndefined();
    expect((await store.list(10)).keys.map((k) => k.id)).toEqual([record.id]);

    expect(await store.revoke(record.id)).toBe(true);
    expect(await store.verify(key)).toBeUndefined();
    // The other replica read the key moments ago; it lets go of it within its cache time.
    await waitFor(async () => (await other.verify(key)) === undefined, {
      timeoutMs: API_KEY_CACHE_MS + 1000,
      what: 'the second replica to refuse the revoked key',
    });
    expect(await store.revoke(record.id)).toBe(false);
    expect((await store.list(10)).keys).toEqual([]);
  });

  it('pages through keys in id order', async () => {
    const store = new ApiKeyStore(client(), { prefix: `${prefix}:paging` });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await store.create({ name: `k${i}`, scopes: ['read'], queues: null })).record.id);
    const first = await store.list(2);
    const second = await store.list(2, first.nextCursor!);
    const third = await store.list(2, second.nextCursor!);
    expect([...first.keys, ...second.keys, ...third.keys].map((k) => k.id)).toEqual([...ids].sort());
    expect(third.nextCursor).toBeNull();
  });

  it('ensures the bootstrap key once, and never brings back a revoked one', async () => {
    const store = new ApiKeyStore(client(), { prefix: `${prefix}:boot` });
    const key = `tq_0123456789ab_${'a'.repeat(64)}`;
    const input = { name: 'bootstrap-admin', scopes: ['admin'] as const, queues: null };
    expect(await store.ensure(key, input)).toBe('created');
    expect(await store.ensure(key, input)).toBe('exists');
    await expect(store.ensure(`tq_0123456789ab_${'b'.repeat(64)}`, input)).rejects.toThrow('already holds another key');
    expect(await store.revoke('0123456789ab')).toBe(true);
    expect(await store.ensure(key, input)).toBe('revoked');
    expect(await store.verify(key)).toBeUndefined();
  });

  it('takes quotas atomically and refuses past them without writing; a refund restores the counter exactly', async () => {
    const redis = client();
    const quota = new QuotaKeeper(redis, { prefix, quota: { tasks: 10, payloadBytes: 1000, windowSeconds: 60 } });
    const subject = 'key:0123456789ab';
    const counter = authKeys(prefix).quota(subject);

    // A refund of a first reservation leaves no counter behind.
    const first = await quota.reserve(subject, 2, 100);
    await quota.refund(first);
    expect(await redis.exists(counter)).toBe(0);

    await quota.reserve(subject, 4, 100);
    const before = await snapshotKeys(redis, prefix);
    await quota.refund(await quota.reserve(subject, 3, 300));
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);

    // Ten concurrent reservations of 2 tasks: exactly 3 fit beside the 4 taken.
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => quota.reserve(subject, 2, 10)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(QuotaExceeded);
    expect(refused.reason).toMatchObject({ quota: 'tasks', limit: 10, used: 10 });
    expect(refused.reason.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.reason.retryAfterSeconds).toBeLessThanOrEqual(60);

    const full = await snapshotKeys(redis, prefix);
    await expect(quota.reserve('key:bytes', 1, 1001)).rejects.toMatchObject({ quota: 'payload bytes', asked: 1001 });
    await expect(quota.reserve(subject, 1, 1)).rejects.toBeInstanceOf(QuotaExceeded);
    expect(diffSnapshots(full, await snapshotKeys(redis, prefix))).toEqual([]);
    expect(await redis.hgetall(counter)).toEqual({ tasks: '10', bytes: '130' });
    expect(await redis.pttl(counter)).toBeGreaterThan(0);
  });

  it('refuses a malformed script argument before any write', async () => {
    const redis = client();
    const quota = new QuotaKeeper(redis, { prefix, quota: { tasks: 10, payloadBytes: 0, windowSeconds: 60 } });
    const before = await snapshotKeys(redis, prefix);
    await expect(quota.reserve('key:nan', Number.NaN, 0)).rejects.toThrow(/tasks must be an integer/);
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);
  });
});
