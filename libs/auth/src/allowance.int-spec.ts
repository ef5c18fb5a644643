import Redis from 'ioredis';
import { deleteByPrefix, TEST_REDIS_URL, uniquePrefix, waitFor } from '@app/testing';
import { AllowanceLedger, LEASE_SHARE, MIN_LEASED_LIMIT } from './allowance';
import { AuthRedis, withAuthScripts } from './scripts/auth-scripts';

/**
 * Leased limits on a real Redis: replicas (ledgers with their own connection) spend leases in memory,
 * together never past the limit, and a limit under MIN_LEASED_LIMIT is counted exactly.
 */
describe('AllowanceLedger on a real Redis', () => {
  const prefix = uniquePrefix('allowance');
  const clients: Redis[] = [];
  let n = 0;
  const counter = () => `${prefix}:c${++n}`;
  /** A replica: its own connection, its lease calls counted (the client is real; the count only watches it). */
  const replica = (clock?: () => number) => {
    const connection = new Redis(TEST_REDIS_URL);
    clients.push(connection);
    const redis = withAuthScripts(connection);
    const calls = { leases: 0 };
    const lease = redis.taskqAuthLeaseAllowance.bind(redis);
    (redis as AuthRedis).taskqAuthLeaseAllowance = (...args) => {
      calls.leases++;
      return lease(...args);
    };
    return { ledger: new AllowanceLedger(redis, LEASE_SHARE, clock), calls, redis };
  };
  const requests = (limit: number) => [{ field: 'requests' as const, need: 1, limit }];

  afterAll(async () => {
    await deleteByPrefix(clients[0], prefix);
    clients.forEach((redis) => redis.disconnect());
  });

  it('serves a steady stream from leases: one Redis call per LEASE_SHARE of the limit, not one per request', async () => {
    const { ledger, calls, redis } = replica();
    const key = counter();
    for (let i = 0; i < 1000; i++) expect(await ledger.take(key, 60_000, requests(10_000))).toEqual({ taken: true });
    // 1 + 100 per lease: 1,000 requests take 10 leases.
    expect(calls.leases).toBe(Math.ceil(1000 / (1 + 10_000 * LEASE_SHARE)));
    expect(Number(await redis.hget(key, 'requests'))).toBe(calls.leases * 101);
    expect(ledger.held(key)).toEqual({ requests: calls.leases * 101 - 1000 });
  });

  it('sends one lease for a burst that finds none: the others wait for it', async () => {
    const { ledger, calls } = replica();
    const key = counter();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => ledger.take(key, 60_000, requests(100_000))));
    expect(outcomes.every((o) => o.taken)).toBe(true);
    expect(calls.leases).toBe(1);
  });

  it('lets two replicas together take at most the limit, and no fewer than the limit less what each holds unused', async () => {
    const a = replica();
    const b = replica();
    const key = counter();
    const limit = 20_000;
    let taken = 0;
    const drain = async (ledger: AllowanceLedger) => {
      for (;;) {
        const outcome = await ledger.take(key, 60_000, requests(limit));
        if (!outcome.taken) return outcome;
        taken++;
      }
    };
    const [refusedA, refusedB] = await Promise.all([drain(a.ledger), drain(b.ledger)]);
    expect(taken).toBeLessThanOrEqual(limit);
    expect(taken).toBeGreaterThanOrEqual(limit - 2 * limit * LEASE_SHARE);
    expect(Number(await a.redis.hget(key, 'requests'))).toBeLessThanOrEqual(limit);
    for (const refused of [refusedA, refusedB]) {
      expect(refused).toMatchObject({ taken: false, index: 0 });
      if (!refused.taken) expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
  });

  it('counts a limit under MIN_LEASED_LIMIT exactly, and refuses without writing', async () => {
    expect(MIN_LEASED_LIMIT * LEASE_SHARE).toBeGreaterThanOrEqual(1);
    const { ledger, redis } = replica();
    const key = counter();
    for (let i = 0; i < 3; i++) expect((await ledger.take(key, 60_000, requests(3))).taken).toBe(true);
    expect(await ledger.take(key, 60_000, requests(3))).toMatchObject({ taken: false, used: 3 });
    expect(await redis.hgetall(key)).toEqual({ requests: '3' });
    expect(ledger.held(key)).toEqual({ requests: 0 });
  });

  it('takes every count or none: a need one count cannot meet leaves the other untouched', async () => {
    const { ledger, redis } = replica();
    const key = counter();
    const counts = (tasks: number, bytes: number) => [
      { field: 'tasks' as const, need: tasks, limit: 10 },
      { field: 'bytes' as const, need: bytes, limit: 50 },
    ];
    expect((await ledger.take(key, 60_000, counts(2, 40))).taken).toBe(true);
    expect(await ledger.take(key, 60_000, counts(2, 11))).toMatchObject({ taken: false, index: 1, used: 40 });
    expect(await redis.hgetall(key)).toEqual({ tasks: '2', bytes: '40' });
    // What this replica holds counts toward a need: only the shortfall is asked of Redis.
    ledger.giveBack(key, { tasks: 2, bytes: 40 });
    expect((await ledger.take(key, 60_000, counts(4, 50))).taken).toBe(true);
    expect(await redis.hgetall(key)).toEqual({ tasks: '4', bytes: '50' });
  });

  it('drops a lease when its window ends here, and leases again in the window Redis has then', async () => {
    let now = Date.now();
    const { ledger, redis, calls } = replica(() => now);
    const key = counter();
    expect((await ledger.take(key, 60_000, requests(10_000))).taken).toBe(true);
    expect(ledger.held(key)).toEqual({ requests: 100 });
    now += 60_001;
    expect(ledger.held(key)).toEqual({});
    expect((await ledger.take(key, 60_000, requests(10_000))).taken).toBe(true);
    expect(calls.leases).toBe(2);
    // The counter in Redis has its own window: the second lease counted in it too.
    expect(await redis.hget(key, 'requests')).toBe('202');
  });

  it('opens a new window in Redis once the old one expires: a refused subject is served again', async () => {
    const { ledger } = replica();
    const key = counter();
    expect((await ledger.take(key, 300, requests(1))).taken).toBe(true);
    const refused = await ledger.take(key, 300, requests(1));
    expect(refused).toMatchObject({ taken: false, retryAfterSeconds: 1 });
    await waitFor(async () => (await ledger.take(key, 300, requests(1))).taken, { what: 'the next window' });
  });
});
