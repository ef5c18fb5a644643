import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { http, TEST_REDIS_URL, waitFor } from '@app/testing';
import { bearer } from './api-keys';
import { Stack } from './harness';

jest.setTimeout(120_000);

/**
 * What a submit costs Redis, counted by MONITOR on the api's commands under the stack's prefix: with
 * AUTH_MODE=api-key and the default limits, the key lookup is cached and the rate limit and quota are
 * served from the replica's leases, so the steady state is the enqueue alone.
 */
describe('Redis round trips of POST /submit (AUTH_MODE=api-key, default limits)', () => {
  const admin = `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;
  let stack: Stack;
  let monitor: Redis;

  beforeAll(async () => {
    stack = new Stack({ AUTH_MODE: 'api-key', BOOTSTRAP_ADMIN_KEY: admin });
    await stack.startApi();
  });

  afterAll(async () => {
    monitor?.disconnect();
    await stack?.stop();
  });

  /** The top-level commands (not those a script runs) that name a key under the stack's prefix, while `run` runs. */
  async function commandsDuring(run: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    monitor = await new Redis(TEST_REDIS_URL).monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((arg) => arg.includes(stack.prefix))) seen.push(args[0].toLowerCase());
    });
    // MONITOR reports what it sees from the moment it answers: a marker command tells when it is live.
    const marker = `${stack.prefix}:monitor-marker`;
    await waitFor(async () => {
      await stack.redis.exists(marker);
      return seen.includes('exists');
    });
    seen.length = 0;
    await run();
    const last = `${stack.prefix}:monitor-end`;
    await stack.redis.exists(last);
    await waitFor(() => seen.includes('exists'), { what: 'MONITOR to catch up' });
    monitor.disconnect();
    return seen.filter((command) => command !== 'exists');
  }

  it('costs one round trip per authenticated submit in the steady state', async () => {
    await waitFor(
      async () => (await http('GET', `${stack.api.url}/auth/keys`, undefined, bearer(admin))).status === 200,
      {
        what: 'the bootstrap admin key',
      },
    );
    const created = await http(
      'POST',
      `${stack.api.url}/auth/keys`,
      { name: 'producer', scopes: ['submit'] },
      bearer(admin),
    );
    const submit = () =>
      http('POST', `${stack.api.url}/submit`, { task_type: 'echo', payload: 1 }, bearer(created.body.key));
    // Warm: the key read and cached, the first leases of its rate limit and quota taken.
    for (let i = 0; i < 5; i++) expect((await submit()).status).toBe(202);

    const n = 300;
    const commands = await commandsDuring(async () => {
      for (let i = 0; i < n; i++) expect((await submit()).status).toBe(202);
    });
    const scripts = commands.filter((command) => command === 'evalsha' || command === 'eval');
    // Every submit's enqueue is one script call; what else runs is the key cache's refresh (every 500 ms)
    // and, rarely, a new lease: a handful for 300 submits, not one or two per submit.
    expect(scripts.length).toBeGreaterThanOrEqual(n);
    expect(commands.length).toBeLessThanOrEqual(n + 20);
  });
});
