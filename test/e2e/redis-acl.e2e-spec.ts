import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { KEY_SCHEMA_VERSION, queueKeys, queueRegistryKey, schemaVersionKey } from '@app/queue';
import { http, OwnRedis, waitFor } from '@app/testing';
import { Stack } from './harness';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const START_SCRIPT = join(ROOT, 'deploy', 'k8s', 'base', 'redis-start.sh');

/** The ACL that docker-compose.yml and Kubernetes start Redis with, for this prefix and password. */
function deployedAcl(prefix: string, password: string): string {
  return execFileSync('sh', [START_SCRIPT, '--print-acl'], {
    env: { PATH: process.env.PATH ?? '', REDIS_PASSWORD: password, QUEUE_PREFIX: prefix },
    encoding: 'utf8',
  });
}

/**
 * The deployed Redis ACL (deploy/k8s/base/redis-start.sh) against every path of the apps: the api
 * and a worker log in as the `taskq` user and run submits, batches, idempotency, delays, waits,
 * retries, dead letters, cancels, queue controls, API keys, rate limits and quotas; Redis must deny
 * none of their commands (ACL LOG), and the user must reach nothing outside its prefix.
 */
describe('Redis ACL of the deployments (user taskq: its prefix, its commands)', () => {
  const password = randomBytes(24).toString('hex');
  const admin = `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'taskq-acl-'));
  let redis: OwnRedis;
  let stack: Stack;
  let inspector: Redis;

  beforeAll(async () => {
    const aclFile = join(dir, 'users.acl');
    redis = await OwnRedis.create(['--aclfile', aclFile]);
    stack = new Stack(
      {
        REDIS_USERNAME: 'taskq',
        REDIS_PASSWORD: password,
        AUTH_MODE: 'api-key',
        BOOTSTRAP_ADMIN_KEY: admin,
        RATE_LIMIT_MAX: '100000',
        QUOTA_TASKS: '100000',
        RECOVERY_INTERVAL_MS: '200',
      },
      redis.url,
    );
    const acl = deployedAcl(stack.prefix, password);
    expect(acl.split('\n')[0]).toBe('user default off');
    // The test's own client (key checks, ACL LOG) logs in as `default`, which the deployments switch off.
    writeFileSync(aclFile, acl.replace('user default off', 'user default on nopass ~* &* +@all'));
    await redis.start();
    inspector = new Redis(redis.url);
    await seedV1Task();
    // The api's recovery pass over HTTP workers' queues runs within the test.
    await stack.startApi({ RECOVERY_INTERVAL_MS: '200' });
    await stack.startWorker({ WORKER_QUEUES: 'default,acl', WORKER_CONCURRENCY: '4' });
  });
  afterAll(async () => {
    inspector?.disconnect();
    await stack?.stop();
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A waiting task as the earlier key schema wrote it, for the worker's migration to move (ADR 12). */
  const legacyId = `acl.${randomUUID()}`;
  async function seedV1Task() {
    const keys = queueKeys(stack.prefix, 'acl');
    const at = String(Date.now());
    await inspector.hset(`${keys.taskPrefix}${legacyId}`, {
      ...{ type: 'echo', payload: '"legacy"', priority: '0', max_retries: '3', timeout_ms: '30000' },
      ...{ attempts: '0', recoveries: '0', status: 'queued', created_at: at, next_run_at: at },
    });
    await inspector.zadd(keys.queued, 100 * 2 ** 45 + 1, legacyId);
    await inspector.set(keys.seq, 1);
    await inspector.sadd(queueRegistryKey(stack.prefix), 'acl');
  }

  const as = { headers: { authorization: `Bearer ${admin}` } };
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    http(method, `${stack.api.url}${path}`, body, { headers: { ...as.headers, ...headers } });

  it('runs every api and worker path with nothing denied', async () => {
    await waitFor(async () => (await call('GET', '/queues')).status === 200, { what: 'the bootstrap key' });
    // The key schema migration the worker runs at boot, and the task it moved.
    await waitFor(async () => (await inspector.get(schemaVersionKey(stack.prefix))) === String(KEY_SCHEMA_VERSION), {
      what: 'the key schema migration',
    });
    expect((await call('GET', `/tasks/${legacyId}?wait_ms=10000`)).body.status).toBe('succeeded');
    // API keys: the CLI, the endpoints, a revocation.
    const cli = spawnSync(
      process.execPath,
      [join(ROOT, 'dist/apps/api/main.js'), 'keys', 'create', '--name', 'acl', '--scopes', 'submit,read'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          REDIS_URL: redis.url,
          REDIS_USERNAME: 'taskq',
          REDIS_PASSWORD: password,
          QUEUE_PREFIX: stack.prefix,
        },
        encoding: 'utf8',
      },
    );
    expect(cli.status).toBe(0);
    const key = cli.stdout.trim();
    const created = await call('POST', '/auth/keys', {
      name: 'tmp',
      scopes: ['read'],
      rate_limit: { max: 100, per_ms: 1000 },
    });
    expect(created.status).toBe(201);
    const limited = await call('PATCH', `/auth/keys/${created.body.id}`, {
      rate_limit: null,
      quota: { tasks: 10, payload_bytes: 1000, per_seconds: 60 },
    });
    expect(limited.status).toBe(200);
    expect((await call('GET', '/auth/keys')).status).toBe(200);
    expect((await call('DELETE', `/auth/keys/${created.body.id}`)).status).toBe(204);

    // Submits of every kind, with a key that has a quota.
    const submitter = { authorization: `Bearer ${key}` };
    const one = await call('POST', '/submit', { task_type: 'echo', payload: 1 }, submitter);
    expect(one.status).toBe(202);
    expect(
      (await call('POST', '/submit', { task_type: 'echo', payload: 2 }, { ...submitter, 'Idempotency-Key': 'k1' }))
        .status,
    ).toBe(202);
    expect(
      (await call('POST', '/submit', { task_type: 'echo', payload: 2 }, { ...submitter, 'Idempotency-Key': 'k1' }))
        .status,
    ).toBe(200);
    expect((await call('POST', '/submit', { task_type: 'echo', payload: 3, unique_for_ms: 60_000 })).status).toBe(202);
    const batch = await call('POST', '/submit/batch', {
      tasks: [
        { task_type: 'echo', payload: 4, queue: 'acl' },
        { task_type: 'sleep', payload: { ms: 10 }, delay_ms: 50 },
        { task_type: 'echo', payload: 5, run_at: new Date(Date.now() + 100).toISOString() },
        { task_type: 'fail', payload: { fail_times: 1 }, max_retries: 2 },
        { task_type: 'fail', payload: {}, max_retries: 0 },
      ],
    });
    expect(batch.status).toBe(202);
    const [, , , retried, dead] = batch.body.task_ids as string[];
    expect((await call('GET', `/tasks/${one.body.task_id}?wait_ms=10000`)).body.status).toBe('succeeded');
    expect((await call('GET', `/tasks/${retried}?wait_ms=15000`)).body.status).toBe('succeeded');
    expect((await call('GET', `/tasks/${dead}?wait_ms=15000`)).body.status).toBe('dead');

    // A running task cancelled (its worker is told on the cancel channel).
    const long = await call('POST', '/submit', { task_type: 'sleep', payload: { ms: 60_000 } });
    await waitFor(async () => (await call('GET', `/tasks/${long.body.task_id}`)).body.status === 'active', {
      what: 'the sleep task to start',
    });
    expect((await call('POST', `/tasks/${long.body.task_id}/cancel`)).status).toBe(200);

    // Queue controls, listings, the dead-letter queue.
    expect((await call('POST', '/queues/acl/pause')).status).toBe(200);
    expect((await call('POST', '/queues/acl/resume')).status).toBe(200);
    expect((await call('PUT', '/queues/acl/limits', { rate: { max: 100, per_ms: 1000 }, concurrency: 2 })).status).toBe(
      200,
    );
    expect((await call('POST', '/submit', { task_type: 'echo', payload: 6, queue: 'acl' })).status).toBe(202);
    expect((await call('PUT', '/queues/acl/limits', { rate: null, concurrency: null })).status).toBe(200);
    for (const status of ['queued', 'succeeded', 'dead', 'cancelled']) {
      expect((await call('GET', `/tasks?status=${status}&task_type=echo`)).status).toBe(200);
    }
    expect((await call('GET', '/queues')).status).toBe(200);
    expect((await call('GET', '/dlq')).body.tasks.length).toBeGreaterThan(0);
    expect((await call('POST', `/dlq/${dead}/requeue`)).status).toBe(200);
    await waitFor(async () => (await call('GET', `/tasks/${dead}`)).body.status === 'dead', { what: 'dead again' });
    expect((await call('DELETE', `/dlq/${dead}`)).status).toBe(204);
    expect((await call('DELETE', '/dlq?queue=default')).status).toBe(200);
    expect((await call('POST', '/submit', { task_type: 'echo', payload: 7, queue: 'gone' })).status).toBe(202);
    const gone = (await call('GET', '/tasks?status=queued&queue=gone')).body.tasks[0].task_id;
    expect((await call('POST', `/tasks/${gone}/cancel`)).status).toBe(200);
    // Schedules (the per-queue index, paged listing), and forgetting queues (refused, then done).
    const schedule = { every_ms: 3_600_000, task: { task_type: 'echo', payload: 8, queue: 'acl' } };
    expect((await call('POST', '/schedules', { name: 'acl-hourly', ...schedule })).status).toBe(201);
    expect((await call('PUT', '/schedules/acl-daily', { ...schedule, every_ms: 86_400_000 })).status).toBe(201);
    expect((await call('GET', '/schedules?limit=1')).body.next_cursor).toBe('acl-daily');
    expect((await call('GET', '/schedules?queue=acl&cursor=acl-daily')).body.schedules).toHaveLength(1);
    expect((await call('DELETE', '/schedules/acl-daily')).status).toBe(204);
    expect((await call('DELETE', '/queues/acl')).status).toBe(409);
    expect((await call('POST', '/submit', { task_type: 'echo', payload: 9, queue: 'brief' })).status).toBe(202);
    const brief = (await call('GET', '/tasks?status=queued&queue=brief')).body.tasks[0].task_id;
    expect((await call('POST', `/tasks/${brief}/cancel`)).status).toBe(200);
    expect((await call('DELETE', '/queues/brief')).status).toBe(409);
    // A retry of a retained finished task (its TTL goes), and a purge of waiting tasks.
    expect((await call('POST', `/tasks/${one.body.task_id}/retry`)).status).toBe(200);
    expect((await call('GET', `/tasks/${one.body.task_id}?wait_ms=10000`)).body.status).toBe('succeeded');
    expect((await call('POST', `/tasks/${gone}/retry`)).status).toBe(200);
    expect((await call('DELETE', '/queues/gone/tasks?status=queued')).body).toEqual({ deleted: 1 });
    // Task types at run time (the store's MULTI, the replicas' poll of its change count).
    const upper = { payload_schema: { type: 'object', required: ['text'] }, queue: 'acl' };
    expect((await call('PUT', '/task-types/acl.upper', upper)).status).toBe(201);
    expect((await call('PUT', '/task-types/acl.upper', { ...upper, description: 'v2' })).status).toBe(200);
    expect((await call('POST', '/submit', { task_type: 'acl.upper', payload: { text: 'a' } })).status).toBe(202);
    expect((await call('GET', '/task-types')).status).toBe(200);
    expect((await call('DELETE', '/task-types/acl.upper')).status).toBe(204);
    // HTTP workers: a long-poll woken by a submit (the api's own BLPOP), heartbeat, fail, complete, and the api's
    // recovery pass over their queue (recoverExpired, then a promote-only claim that marks it served).
    expect(
      (await call('PUT', '/task-types/acl.remote', { payload_schema: { type: 'object' }, queue: 'remote' })).status,
    ).toBe(201);
    const claimWork = () => call('POST', '/work/claim', { worker_id: 'acl-py', queues: ['remote'], wait_ms: 10_000 });
    const polling = claimWork();
    expect((await call('POST', '/submit', { task_type: 'acl.remote', payload: {} })).status).toBe(202);
    const [run] = (await polling).body.tasks;
    expect((await call('POST', `/work/${run.task_id}/heartbeat`, { lease_token: run.lease_token })).status).toBe(200);
    const failed = await call('POST', `/work/${run.task_id}/fail`, {
      lease_token: run.lease_token,
      error: { message: 'once' },
    });
    expect(failed.body.status).toBe('retrying');
    const [retry] = (await claimWork()).body.tasks;
    expect(
      (await call('POST', `/work/${retry.task_id}/complete`, { lease_token: retry.lease_token, result: 1 })).status,
    ).toBe(200);
    await waitFor(async () => (await call('GET', '/queues/remote')).body.last_served_at ?? undefined, {
      what: "the api's recovery pass over the HTTP workers' queue",
    });
    expect((await call('GET', '/health/ready')).status).toBe(200);
    expect((await fetch(stack.api.metricsUrl)).status).toBe(200);
    expect((await http('GET', `${stack.workers[0].url}/health/ready`)).status).toBe(200);

    const denied = (await inspector.call('ACL', 'LOG')) as unknown[][];
    expect(denied.map((entry) => entry.map(String).join(' '))).toEqual([]);
  });

  it('allows every command a Lua script calls (Redis checks those against the ACL too)', () => {
    const allowed = new Set(
      deployedAcl(stack.prefix, password)
        .match(/\+[a-z|]+/g)!
        .map((rule) => rule.slice(1)),
    );
    const dirs = ['libs/queue/src/scripts/lua', 'libs/auth/src/scripts/lua'].map((dir) => join(ROOT, dir));
    const called = new Set(
      dirs.flatMap((dir) =>
        readdirSync(dir)
          .filter((file) => file.endsWith('.lua'))
          .flatMap((file) =>
            [...readFileSync(join(dir, file), 'utf8').matchAll(/redis\.call\('([A-Z]+)'/g)].map((m) =>
              m[1].toLowerCase(),
            ),
          ),
      ),
    );
    expect([...called].filter((command) => !allowed.has(command))).toEqual([]);
  });

  it('gives the user nothing outside its prefix, and no dangerous command', async () => {
    const user = new Redis(redis.url, { username: 'taskq', password, maxRetriesPerRequest: 0 });
    try {
      await expect(user.get('someone-else:key')).rejects.toThrow(/NOPERM/);
      await expect(user.set('someone-else:key', '1')).rejects.toThrow(/NOPERM/);
      await expect(user.publish('someone-else:channel', '1')).rejects.toThrow(/NOPERM/);
      for (const command of [
        ['KEYS', '*'],
        ['FLUSHALL'],
        ['CONFIG', 'GET', 'dir'],
        ['SCAN', '0'],
        ['CLIENT', 'LIST'],
        ['MODULE', 'LIST'],
        ['SCRIPT', 'FLUSH'],
        ['ACL', 'LIST'],
      ]) {
        await expect(user.call(command[0], ...command.slice(1))).rejects.toThrow(/NOPERM/);
      }
      // A script may not reach other keys either.
      await expect(user.eval("return redis.call('GET', 'someone-else:key')", 0)).rejects.toThrow(/NOPERM|can't access/);
      expect(await user.exists(`${stack.prefix}:queues`)).toBe(1);
    } finally {
      user.disconnect();
    }
    const wrong = new Redis(redis.url, {
      username: 'taskq',
      password: 'wrong',
      lazyConnect: true,
      retryStrategy: () => null,
    });
    const errors: string[] = [];
    wrong.on('error', (error: Error) => errors.push(error.message));
    await wrong.connect().catch(() => undefined);
    expect(errors.join('\n')).toMatch(/WRONGPASS/);
    wrong.disconnect();
  });
});
