import Redis from 'ioredis';
import { deleteByPrefix, diffSnapshots, snapshotKeys, TEST_REDIS_URL, uniquePrefix, waitFor } from '@app/testing';
import { API_KEY_CACHE_MS, ApiKeyStore } from './api-key.store';
import { LEASE_SHARE } from './allowance';
import { authKeys } from './keys/auth-keys';
import { QuotaExceeded, QuotaKeeper } from './quota';
import { Principal } from './scopes';

/** A principal of an API key, with or without a quota of its own. */
const keyPrincipal = (id: string, limits?: Principal['limits']): Principal => ({
  subject: `key:${id}`,
  name: id,
  kind: 'api-key',
  scopes: ['submit'],
  queues: null,
  limits,
});

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

  it('takes quotas atomically and refuses past them without writing; a refund goes back to the replica for its next request', async () => {
    const redis = client();
    // Limits under MIN_LEASED_LIMIT are counted exactly, one request's need at a time.
    const quota = new QuotaKeeper(redis, { prefix, quota: { tasks: 10, payloadBytes: 90, windowSeconds: 60 } });
    const subject = keyPrincipal('0123456789ab');
    const counter = authKeys(prefix).quota(subject.subject, 60);

    // A refunded reservation is this replica's again: the next one of that size costs Redis nothing.
    const first = await quota.reserve(subject, 2, 40);
    quota.refund(first);
    expect(quota.held(first)).toEqual({ tasks: 2, bytes: 40 });
    const before = await snapshotKeys(redis, prefix);
    await quota.reserve(subject, 2, 40);
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);
    expect(quota.held(first)).toEqual({ tasks: 0, bytes: 0 });

    await quota.reserve(subject, 2, 0);
    // Ten concurrent reservations of 2 tasks: exactly 3 fit beside the 4 taken.
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => quota.reserve(subject, 2, 10)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(QuotaExceeded);
    expect(refused.reason).toMatchObject({ quota: 'tasks', limit: 10, used: 10, source: 'QUOTA_TASKS' });
    expect(refused.reason.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.reason.retryAfterSeconds).toBeLessThanOrEqual(60);

    const full = await snapshotKeys(redis, prefix);
    await expect(quota.reserve(keyPrincipal('bytes'), 1, 91)).rejects.toMatchObject({
      quota: 'payload bytes',
      asked: 91,
    });
    await expect(quota.reserve(subject, 1, 1)).rejects.toBeInstanceOf(QuotaExceeded);
    expect(diffSnapshots(full, await snapshotKeys(redis, prefix))).toEqual([]);
    expect(await redis.hgetall(counter)).toEqual({ tasks: '10', bytes: '70' });
    expect(await redis.pttl(counter)).toBeGreaterThan(0);
  });

  it('refuses a malformed script argument before any write', async () => {
    const redis = client();
    const quota = new QuotaKeeper(redis, { prefix, quota: { tasks: 10, payloadBytes: 0, windowSeconds: 60 } });
    const before = await snapshotKeys(redis, prefix);
    await expect(quota.reserve(keyPrincipal('nan'), Number.NaN, 0)).rejects.toThrow(/need must be an integer/);
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);
  });

  it("stores a key's own limits, changes them on one replica and every replica applies them within the cache time", async () => {
    const store = new ApiKeyStore(client(), { prefix: `${prefix}:limits` });
    const other = new ApiKeyStore(client(), { prefix: `${prefix}:limits` });
    const rateLimit = { max: 500, perMs: 1000 };
    const quota = { tasks: 1_000_000, payloadBytes: null, perSeconds: 3600 };
    const { key, record } = await store.create({ name: 'limited', scopes: ['submit'], queues: null, rateLimit, quota });
    expect(record).toMatchObject({ rateLimit, quota });
    expect(await other.verify(key)).toMatchObject({ rateLimit, quota });
    expect((await store.list(10)).keys[0]).toMatchObject({ rateLimit, quota });

    // Left out: kept; a new value: replaced; null: removed (the environment's default applies).
    const bytes = { tasks: null, payloadBytes: 1024, perSeconds: 60 };
    expect(await store.setLimits(record.id, { quota: bytes })).toMatchObject({ rateLimit, quota: bytes });
    expect(await store.setLimits(record.id, { rateLimit: null })).toMatchObject({ rateLimit: null, quota: bytes });
    await waitFor(async () => (await other.verify(key))?.rateLimit === null, {
      timeoutMs: API_KEY_CACHE_MS + 1000,
      what: 'the second replica to see the changed limits',
    });
    expect(await other.verify(key)).toMatchObject({ quota: bytes });
    const fields = await clients[0].hgetall(authKeys(`${prefix}:limits`).apiKey(record.id));
    expect(fields).toMatchObject({ quota_bytes: '1024', quota_per_seconds: '60' });
    expect(fields).not.toHaveProperty('quota_tasks');
    expect(fields).not.toHaveProperty('rate_max');

    // A revoked key is not brought back by a change of its limits.
    expect(await store.revoke(record.id)).toBe(true);
    const before = await snapshotKeys(clients[0], `${prefix}:limits`);
    expect(await store.setLimits(record.id, { rateLimit })).toBeUndefined();
    expect(diffSnapshots(before, await snapshotKeys(clients[0], `${prefix}:limits`))).toEqual([]);
  });

  it('refuses malformed limits in the key scripts before any write', async () => {
    const redis = client();
    const store = new ApiKeyStore(redis, { prefix: `${prefix}:badlimits` });
    const { record } = await store.create({ name: 'k', scopes: ['read'], queues: null });
    const before = await snapshotKeys(redis, `${prefix}:badlimits`);
    const cases: [Parameters<ApiKeyStore['setLimits']>[1], RegExp][] = [
      [{ rateLimit: { max: 0, perMs: 1000 } }, /rate must be a max and a window/],
      [{ rateLimit: { max: Number.NaN, perMs: 1000 } }, /rate max must be an integer/],
      [
        { quota: { tasks: null, payloadBytes: null, perSeconds: 60 } },
        /quota must be a window of at least 1 s and tasks or bytes/,
      ],
      [{ quota: { tasks: 5, payloadBytes: null, perSeconds: 0 } }, /quota must be a window/],
      [{ rateLimit: { max: 1, perMs: 1000 }, quota: { tasks: -1, payloadBytes: null, perSeconds: 60 } }, /quota tasks/],
    ];
    for (const [change, message] of cases) await expect(store.setLimits(record.id, change)).rejects.toThrow(message);
    await expect(
      store.create({
        name: 'bad',
        scopes: ['read'],
        queues: null,
        quota: { tasks: 0, payloadBytes: 0, perSeconds: 1 },
      }),
    ).rejects.toThrow(/quota must be a window/);
    expect(diffSnapshots(before, await snapshotKeys(redis, `${prefix}:badlimits`))).toEqual([]);
  });

  it("counts a credential's own quota in a counter of its own window, and names it when refusing", async () => {
    const redis = client();
    const quota = new QuotaKeeper(redis, { prefix, quota: { tasks: 100, payloadBytes: 0, windowSeconds: 3600 } });
    const keys = authKeys(prefix);
    const own = keyPrincipal('0000000000aa', {
      rateLimit: null,
      quota: { tasks: 3, payloadBytes: null, perSeconds: 60 },
    });

    await quota.reserve(own, 2, 10);
    // A quota of tasks only: the bytes are not counted.
    expect(await redis.hgetall(keys.quota(own.subject, 60))).toEqual({ tasks: '2' });
    expect(await redis.pttl(keys.quota(own.subject, 60))).toBeLessThanOrEqual(60_000);
    expect(await redis.exists(keys.quota(own.subject, 3600))).toBe(0);
    await expect(quota.reserve(own, 2, 10)).rejects.toMatchObject({
      quota: 'tasks',
      limit: 3,
      used: 2,
      source: "the key's own quota.tasks",
      message: expect.stringContaining("quota of 3 tasks per 60 s (the key's own quota.tasks) reached"),
    });

    // Without its own quota the same subject counts against the environment's, in that window's counter.
    const plain = keyPrincipal('0000000000aa');
    const taken = await quota.reserve(plain, 5, 0);
    expect(taken.counter).toBe(keys.quota(plain.subject, 3600));
    expect(await redis.hgetall(keys.quota(plain.subject, 3600))).toEqual({ tasks: '5' });
    // A quota of 1,000,000 tasks is leased: the request's 5 and LEASE_SHARE of the quota, held for the next.
    const big = new QuotaKeeper(redis, { prefix, quota: { tasks: 1_000_000, payloadBytes: 0, windowSeconds: 3600 } });
    const leased = await big.reserve(keyPrincipal('0000000000cc'), 5, 0);
    expect(await redis.hgetall(leased.counter!)).toEqual({ tasks: String(5 + 1_000_000 * LEASE_SHARE) });
    expect(big.held(leased)).toEqual({ tasks: 1_000_000 * LEASE_SHARE });

    // A token's own quota is named by its claim; a quota of bytes only leaves tasks uncounted.
    const token: Principal = {
      ...own,
      subject: 'jwt:abc',
      kind: 'jwt',
      limits: { rateLimit: null, quota: { tasks: null, payloadBytes: 100, perSeconds: 10 } },
    };
    await quota.reserve(token, 1000, 60);
    await expect(quota.reserve(token, 1, 60)).rejects.toMatchObject({
      quota: 'payload bytes',
      source: "the token's taskq_quota.payload_bytes",
    });

    // No quota at all (both defaults 0): nothing is counted, nothing to refund.
    const off = new QuotaKeeper(redis, { prefix, quota: { tasks: 0, payloadBytes: 0, windowSeconds: 60 } });
    const before = await snapshotKeys(redis, prefix);
    expect(await off.reserve(keyPrincipal('0000000000bb'), 1_000_000, 1)).toMatchObject({ counter: null });
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);
  });
});
