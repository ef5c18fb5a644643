import Redis from 'ioredis';
import {
  checkQueueInvariant,
  createTestRedis,
  GiveUp,
  newTask,
  nodeServingKey,
  QueueHarness,
  TcpProxy,
  TestRedis,
  waitFor,
} from '@app/testing';
import { queueKeys, QueueRedis, WorkerRegistry, workerRegistryKey } from '@app/queue';
import { leaseRenewalIntervalMs } from '../config/worker.env';
import { WorkerOptions } from '../config/worker.options';
import { ActiveRun } from '../run/active-run';
import { Heartbeat } from './heartbeat';
import { RunRegistry } from './run-registry';

const queue = 'default';
const LEASE_MS = 1000;

jest.setTimeout(30_000);

/**
 * The heartbeat on a real Redis, with the worker registry's connection going through a TCP proxy
 * that holds its writes: lease renewal must not wait for them.
 */
describe('heartbeat: lease renewal on its own cadence', () => {
  let redis: TestRedis;
  let harness: QueueHarness;
  let proxy: TcpProxy;
  let registryClient: Redis;

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    harness = await QueueHarness.boot({ leaseMs: LEASE_MS, commandTimeoutMs: 600 });
    proxy = await TcpProxy.start(await nodeServingKey(redis, workerRegistryKey(harness.prefix)));
    // No command timeout: a write held back for as long as the proxy holds it.
    registryClient = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: null });
    registryClient.on('error', () => undefined);
  });
  afterEach(async () => {
    proxy.release();
    registryClient.disconnect();
    await proxy.stop();
    expect(await checkQueueInvariant(redis, harness.prefix, queue)).toEqual([]);
    await harness.close(redis);
  });

  it('keeps renewing leases every third of TASK_LEASE_MS while the registry write hangs, and loses none', async () => {
    const options = {
      concurrency: 1,
      queues: [{ name: queue, weight: 1 }],
      heartbeatIntervalMs: leaseRenewalIntervalMs(LEASE_MS),
    } as WorkerOptions;
    const registry = new WorkerRegistry(registryClient as unknown as QueueRedis, harness.options);
    const runs = new RunRegistry();
    const heartbeat = new Heartbeat(harness.consumer, runs, registry, options);

    await harness.producer.enqueue(newTask(queue));
    const [task] = (await harness.consumer.claim(queue, 1)).tasks;
    const run = new ActiveRun(task, LEASE_MS);
    runs.add(run);
    const active = queueKeys(harness.prefix, queue).active;
    const claimedDeadline = Number(await redis.zscore(active, task.id));

    proxy.hold();
    heartbeat.start();
    // Three whole leases later the deadline has kept moving, and no recoverer pass in between found it expired.
    await waitFor(
      async () => {
        const recovered = await harness.consumer.recoverExpired(queue, 0);
        if (recovered.length) throw new GiveUp(new Error(`lease expired and ${task.id} was recovered`));
        return Number(await redis.zscore(active, task.id)) >= claimedDeadline + 3 * LEASE_MS;
      },
      { timeoutMs: 15_000, what: 'the lease deadline to move 3 leases on' },
    );
    expect(run.abandoned).toBeUndefined();
    const readRegistry = new WorkerRegistry(harness.scripts, harness.options);
    expect(await readRegistry.list(60_000)).toEqual([]);

    // Released, the held report lands; the run still holds its lease and acks.
    proxy.release();
    await waitFor(async () => (await readRegistry.list(60_000)).some((w) => w.id === heartbeat.workerId), {
      what: 'the worker report to land',
    });
    await heartbeat.stop();
    await harness.consumer.ack(task, '"done"');
    expect(await harness.inspector.getTask(task.id)).toMatchObject({ status: 'succeeded' });
  });
});
