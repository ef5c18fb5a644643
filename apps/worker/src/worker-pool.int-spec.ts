import { Test, TestingModule } from '@nestjs/testing';
import { register } from 'prom-client';
import {
  checkQueueInvariant,
  createTestRedis,
  deleteByPrefix,
  masterNodes,
  newTask,
  QueueHarness,
  redisAppEnv,
  testRedisConnection,
  TestRedis,
  uniquePrefix,
  waitFor,
} from '@app/testing';
import { faultRunKeys } from '@app/contracts';
import { METRIC } from '@app/metrics';
import { ClaimedTask, NewTask, QueueConsumer, QueueProducer, queueKeys } from '@app/queue';
import { WorkerModule } from './worker.module';

const queue = 'default';

jest.setTimeout(30_000);

/** The worker module booted in this process (as main.ts boots it, minus the HTTP listener), on real Redis. */
class InProcessWorker {
  private closed?: Promise<void>;

  private constructor(
    readonly moduleRef: TestingModule,
    readonly prefix: string,
  ) {}

  /** Shuts the worker down as SIGTERM does (idempotent). */
  close(): Promise<void> {
    this.closed ??= this.moduleRef.close();
    return this.closed;
  }

  /**
   * This process's connections as CLIENT LIST shows them, by role (`commands`, `blocking`): on every
   * master, since on a cluster each role has a connection per node it talks to.
   */
  async clients(redis: TestRedis): Promise<Record<string, Record<string, string>[]>> {
    const name = `${this.prefix}:worker:${process.pid}:`;
    const out: Record<string, Record<string, string>[]> = {};
    for (const node of await masterNodes(redis)) {
      for (const line of String(await node.client('LIST')).split('\n')) {
        const fields = Object.fromEntries(line.split(' ').map((pair) => pair.split('=') as [string, string]));
        if (fields.name?.startsWith(name)) (out[fields.name.slice(name.length)] ??= []).push(fields);
      }
    }
    return out;
  }

  static async start(env: Record<string, string> = {}, prefix = uniquePrefix('worker')): Promise<InProcessWorker> {
    // The suite's Redis in its mode, and no other REDIS_* target (exactly one may be set).
    for (const name of ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME']) {
      delete process.env[name];
    }
    Object.assign(process.env, {
      ...redisAppEnv(testRedisConnection()),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      FAULT_TASKS: 'true',
      TASK_LEASE_MS: '1000',
      // A renewal (every third of the lease) must land within the lease: see leaseProblem.
      REDIS_COMMAND_TIMEOUT_MS: '600',
      RECOVERY_INTERVAL_MS: '60000',
      WORKER_IDLE_WAIT_MS: '100',
      SHUTDOWN_GRACE_MS: '200',
      RETRY_BACKOFF_BASE_MS: '10',
      RETRY_BACKOFF_MAX_MS: '20',
      // No thread-isolated type runs here: one thread is enough (from source, each compiles with ts-node).
      WORKER_THREADS: '1',
      ...env,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [WorkerModule.register({ demoTasks: true, faultTasks: true })],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    return new InProcessWorker(moduleRef, prefix);
  }

  get producer(): QueueProducer {
    return this.moduleRef.get(QueueProducer);
  }

  get consumer(): QueueConsumer {
    return this.moduleRef.get(QueueConsumer);
  }

  submit(over: Partial<NewTask>): Promise<{ id: string }> {
    return this.producer.enqueue(newTask(queue, { maxRetries: 0, timeoutMs: 60_000, ...over }));
  }

  async counter(name: string): Promise<number> {
    const metric = register.getSingleMetric(name);
    const values = metric ? (await metric.get()).values : [];
    return values.reduce((sum, v) => sum + v.value, 0);
  }
}

describe('worker pool in process, on a real Redis', () => {
  let redis: TestRedis;
  let worker: InProcessWorker | undefined;
  let saved: NodeJS.ProcessEnv;

  beforeAll(() => {
    redis = createTestRedis();
    saved = { ...process.env };
  });
  afterAll(async () => {
    await redis.quit();
  });
  afterEach(async () => {
    if (worker) {
      await worker.close();
      expect(await checkQueueInvariant(redis, worker.prefix, queue)).toEqual([]);
      await deleteByPrefix(redis, worker.prefix);
    }
    worker = undefined;
    register.clear();
    process.env = { ...saved };
  });

  const taskKey = (id: string) => `${queueKeys(worker!.prefix, queue).taskPrefix}${id}`;
  const runsOf = async (id: string) => Number((await redis.hget(faultRunKeys(worker!.prefix).runs, id)) ?? 0);

  it('keeps heartbeating a re-claimed task while its stale earlier run settles; the stale run is no outcome', async () => {
    // The recoverer runs often, so a run that stopped being heartbeated would be recovered again.
    worker = await InProcessWorker.start({ RECOVERY_INTERVAL_MS: '300' });
    const { id } = await worker.submit({
      type: 'chaos',
      // Run A outlasts the forced recovery below (the recoverer's next pass and the re-claim).
      payload: { behaviour: 'stale_first', ms: 2000, later_ms: 4000 },
    });
    await waitFor(async () => (await runsOf(id)) === 1, { what: 'run A to start' });
    const leaseA = await redis.hget(taskKey(id), 'lease');
    // Force a recovery under run A (as after a stall): the same worker claims the task again (run B)
    // while A has not settled. A then settles long before B ends. A's heartbeat (lease 1 s) may renew
    // the lease before the recoverer looks, so the stall is kept up while A still holds the lease:
    // atomically, never touching B's.
    const stallWhileA = `if redis.call('HGET', KEYS[2], 'lease') == ARGV[1] then redis.call('ZADD', KEYS[1], 'XX', 0, ARGV[2]) end`;
    await waitFor(
      async () => {
        await redis.eval(stallWhileA, 2, queueKeys(worker!.prefix, queue).active, taskKey(id), leaseA!, id);
        return (await runsOf(id)) === 2;
      },
      { what: 'run B to start' },
    );
    await waitFor(async () => (await redis.hget(taskKey(id), 'status')) === 'succeeded', {
      timeoutMs: 15_000,
      what: 'run B to succeed',
    });
    // B was heartbeated all along: recovered once (the forced one), run twice, never a third time.
    expect(await redis.hmget(taskKey(id), 'recoveries', 'attempts')).toEqual(['1', '1']);
    expect(await runsOf(id)).toBe(2);
    expect(JSON.parse((await redis.hget(taskKey(id), 'result'))!)).toEqual({ runs: 2 });
    // A's discarded outcome is neither a success nor a failure.
    expect(await worker.counter(METRIC.processed)).toBe(1);
    for (const name of [METRIC.failed, METRIC.retried]) expect([name, await worker.counter(name)]).toEqual([name, 0]);
  });

  it('releases a running task at shutdown without counting it as failed or retried', async () => {
    worker = await InProcessWorker.start();
    const { id } = await worker.submit({ type: 'chaos', payload: { behaviour: 'hang_abortable' } });
    await waitFor(async () => (await runsOf(id)) === 1, { what: 'the run to start' });
    await worker.close();
    expect(await redis.hmget(taskKey(id), 'status', 'releases', 'attempts')).toEqual(['queued', '1', '0']);
    expect(await worker.counter(METRIC.released)).toBe(1);
    for (const name of [METRIC.failed, METRIC.retried, METRIC.processed]) {
      expect([name, await worker.counter(name)]).toEqual([name, 0]);
    }
  });

  it('dead-letters a result that is not JSON-serializable as non_retryable', async () => {
    worker = await InProcessWorker.start();
    const { id } = await worker.submit({ type: 'chaos', payload: { behaviour: 'bad_result' }, maxRetries: 3 });
    await waitFor(async () => (await redis.hget(taskKey(id), 'status')) === 'dead', { what: 'the task to die' });
    expect(await redis.hmget(taskKey(id), 'dead_reason', 'attempts')).toEqual(['non_retryable', '1']);
    expect(await redis.hget(taskKey(id), 'last_error')).toMatch(/not JSON-serializable/);
    expect(await worker.counter(METRIC.failed)).toBe(1);
  });

  it('sends NonRetryableError, unknown task types and invalid payloads straight to the dead-letter queue', async () => {
    worker = await InProcessWorker.start();
    const cases = [
      { over: { type: 'chaos', payload: { behaviour: 'non_retryable' } }, reason: 'non_retryable' },
      { over: { type: 'no-such-type', payload: 1 }, reason: 'unknown_task_type' },
      { over: { type: 'sleep', payload: { ms: -1 } }, reason: 'invalid_payload' },
    ];
    for (const { over, reason } of cases) {
      const { id } = await worker.submit({ ...over, maxRetries: 5 });
      await waitFor(async () => (await redis.hget(taskKey(id), 'status')) === 'dead', { what: `${reason} to die` });
      expect(await redis.hmget(taskKey(id), 'dead_reason', 'attempts')).toEqual([reason, '1']);
    }
  });

  it('blocks on Redis while idle instead of polling', async () => {
    // Heartbeats (and the worker's registry report) every 10 s, the recoverer every minute: an idle
    // worker's command connection should then be silent for seconds at a time.
    worker = await InProcessWorker.start({ WORKER_IDLE_WAIT_MS: '60000', TASK_LEASE_MS: '30000' });
    const { id } = await worker.submit({ type: 'echo', payload: 1 });
    await waitFor(async () => (await redis.hget(taskKey(id), 'status')) === 'succeeded', { what: 'the task to run' });
    // Idle: its blocking connection sits in BLPOP and its command connection sends nothing for a
    // second and more (CLIENT LIST's idle is whole seconds since the connection's last command).
    const idle = await waitFor(
      async () => {
        const clients = await worker!.clients(redis);
        const blocked = (clients.blocking ?? []).filter((c) => c.cmd === 'blpop');
        const commands = clients.commands ?? [];
        return blocked.length && commands.length && commands.every((c) => Number(c.idle) >= 2) ? blocked : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'the worker to sit idle in BLPOP' },
    );
    expect(idle[0].flags).toContain('b');
  });

  describe('wakes an idle worker at once when a task becomes claimable (WORKER_IDLE_WAIT_MS is 60 s here)', () => {
    let other: QueueHarness | undefined;
    afterEach(async () => {
      await other?.moduleRef.close();
      other = undefined;
    });

    /**
     * Another worker (a consumer of its own on the same prefix) holds the queue's one task; this
     * worker starts, finds nothing to claim and blocks for up to a minute. Only a wake marker can
     * make it start the task within the 10 s the tests wait.
     */
    async function idleWorkerBeside(env: Record<string, string> = {}) {
      const prefix = uniquePrefix('worker');
      other = await QueueHarness.boot({ prefix, leaseMs: 1000 });
      await other.producer.enqueue(newTask(queue, { type: 'echo', payload: 'held', maxRetries: 0 }));
      const [held] = (await other.consumer.claim(queue, 1)).tasks;
      worker = await InProcessWorker.start({ WORKER_IDLE_WAIT_MS: '60000', TASK_LEASE_MS: '30000', ...env }, prefix);
      return { other, held };
    }

    /** Until the pool is blocked in its wait for work with no marker left to take. */
    async function blocked(): Promise<void> {
      const consumer = worker!.consumer;
      const wait = consumer.waitForWork.bind(consumer);
      let waiting = 0;
      jest.spyOn(consumer, 'waitForWork').mockImplementation(async (queues, timeoutMs) => {
        waiting++;
        try {
          return await wait(queues, timeoutMs);
        } finally {
          waiting--;
        }
      });
      const wakeKey = queueKeys(worker!.prefix, queue).wake;
      await waitFor(async () => waiting === 1 && (await redis.llen(wakeKey)) === 0, {
        what: 'the pool to block waiting for work',
      });
    }

    const startedWithin10s = (task: ClaimedTask | { id: string }, why: string) =>
      waitFor(async () => (await redis.hget(taskKey(task.id), 'status')) === 'succeeded', {
        what: `the idle worker to run the task ${why}, woken rather than after its 60 s wait`,
      });

    it('when the recoverer puts a task back (its worker died)', async () => {
      const { other, held } = await idleWorkerBeside();
      await blocked();
      // The other worker died: its 1 s lease runs out, and a recoverer pass puts the task back.
      await waitFor(async () => (await other.consumer.recoverExpired(queue, 0)).length === 1, {
        what: 'the held lease to expire and be recovered',
      });
      await startedWithin10s(held, 'the recoverer put back');
    });

    it('when another worker releases a task at shutdown', async () => {
      const { other, held } = await idleWorkerBeside();
      await blocked();
      await other.consumer.release(held);
      await startedWithin10s(held, 'another worker released');
    });

    /** The held task takes the queue's one slot (concurrency cap 1); the next one waits for it. */
    async function capReachedWithNextQueued() {
      const { other, held } = await idleWorkerBeside();
      await other.admin.setLimits(queue, { rate: null, concurrency: 1 });
      const next = await other.producer.enqueue(newTask(queue, { type: 'echo', payload: 'next', maxRetries: 0 }));
      await blocked();
      expect(await redis.hget(taskKey(next.id), 'status')).toBe('queued');
      return { other, held, next };
    }

    it('when an ack frees a slot of a queue with a concurrency cap', async () => {
      const { other, held, next } = await capReachedWithNextQueued();
      await other.consumer.ack(held, '"done"');
      await startedWithin10s(next, 'the freed slot let in');
    });

    it('when a dead-letter frees a slot of a queue with a concurrency cap', async () => {
      const { other, held, next } = await capReachedWithNextQueued();
      await other.consumer.fail(held, { action: 'dead', reason: 'non_retryable', error: 'boom' });
      await startedWithin10s(next, 'the freed slot let in');
    });
  });

  it('stops at once on shutdown, not after the idle wait', async () => {
    const idleWaitMs = 60_000;
    worker = await InProcessWorker.start({ WORKER_IDLE_WAIT_MS: String(idleWaitMs) });
    const waits = jest.spyOn(worker.consumer, 'waitForWork');
    await worker.submit({ type: 'echo', payload: 1 });
    await waitFor(() => waits.mock.calls.length > 0, { what: 'the pool to block again' });
    const started = Date.now();
    await worker.close();
    // A hang guard, not a speed test: without the interrupt, close waits out the 60 s block.
    expect(Date.now() - started).toBeLessThan(idleWaitMs / 4);
  });
});
