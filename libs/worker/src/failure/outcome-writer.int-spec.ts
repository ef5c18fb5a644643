import { ConsoleLogger, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { Counter } from 'prom-client';
import { ClaimedTask, queueKeys } from '@app/queue';
import {
  checkQueueInvariant,
  createTestRedis,
  newTask,
  nodeServingKey,
  QueueHarness,
  TcpProxy,
  TestRedis,
  waitFor,
} from '@app/testing';
import { WorkerEnv } from '../config/worker.env';
import { ActiveRun } from '../run/active-run';
import { RunOutcome } from '../run/task-context';
import { OutcomeWriter } from './outcome-writer';

const queue = 'default';

jest.setTimeout(30_000);

const counter = (name: string) => new Counter({ name, help: name, labelNames: ['task_type', 'queue'], registers: [] });
const total = async (c: Counter<string>) => (await c.get()).values.reduce((sum, v) => sum + v.value, 0);

/**
 * The outcome writer on a real Redis, its connection through a TCP proxy that holds the replies: the
 * script runs, its answer never comes back in time (a timeout on a write that was applied).
 */
describe('outcome writer: a write whose reply was lost', () => {
  let redis: TestRedis;
  let node: Redis;
  let direct: QueueHarness;
  let proxied: QueueHarness;
  let proxy: TcpProxy;
  const lines: Record<string, unknown>[] = [];
  const messages = () => lines.map((line) => String(line.msg));

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    Logger.overrideLogger(new ConsoleLogger());
    await redis.quit();
  });
  beforeEach(async () => {
    lines.length = 0;
    direct = await QueueHarness.boot();
    const address = await nodeServingKey(redis, queueKeys(direct.prefix, queue).active);
    node = new Redis(address);
    proxy = await TcpProxy.start(address);
    // One node through the proxy (on a cluster: the master of the queue's slot, all the writer touches).
    proxied = await QueueHarness.boot({
      prefix: direct.prefix,
      redis: { mode: 'standalone', url: `redis://127.0.0.1:${proxy.port}` },
      commandTimeoutMs: 300,
      connectionName: `${direct.prefix}:proxied`,
    });
    // After the harnesses: a testing module sets its own logger when it compiles.
    const keep = (message: unknown) => lines.push(message as Record<string, unknown>);
    Logger.overrideLogger({ log: keep, warn: keep, error: keep, debug: keep });
  });
  afterEach(async () => {
    proxy.release();
    await proxied.moduleRef.close();
    await proxy.stop();
    node.disconnect();
    expect(await checkQueueInvariant(redis, direct.prefix, queue)).toEqual([]);
    await direct.close(redis);
  });

  function writer() {
    const counters = {
      processed: counter('processed'),
      failed: counter('failed'),
      retried: counter('retried'),
      released: counter('released'),
    };
    const outcomes = new OutcomeWriter(
      proxied.consumer,
      counters.processed,
      counters.failed,
      counters.retried,
      counters.released,
      new ConfigService({ LOG_LEVEL: 'info', MAX_RESULT_BYTES: 1024 * 1024 }) as ConfigService<WorkerEnv, true>,
    );
    return { outcomes, counters };
  }

  async function claimed(): Promise<ClaimedTask> {
    await direct.producer.enqueue(newTask(queue, { maxRetries: 3 }));
    return (await direct.consumer.claim(queue, 1)).tasks[0];
  }

  /** The last command Redis ran for the proxied connection (CLIENT LIST's `cmd`). */
  async function lastProxiedCommand(): Promise<string | undefined> {
    const list = String(await node.client('LIST'));
    const line = list.split('\n').find((entry) => entry.includes(` name=${direct.prefix}:proxied:commands `));
    return / cmd=(\S+)/.exec(line ?? '')?.[1];
  }

  /**
   * Writes `outcome` with the replies held: Redis applies it (the task shows `status`), the reply
   * times out, and the writer asks Redis what became of it (HMGET) before the replies flow again.
   */
  async function writeWithLostReply(task: ClaimedTask, outcome: RunOutcome, status: string) {
    const { outcomes, counters } = writer();
    proxy.hold('replies');
    const writing = outcomes.write(new ActiveRun(task, 30_000), outcome);
    await waitFor(async () => (await direct.inspector.getTask(task.id)).status === status, {
      what: `the write to leave ${task.id} ${status}`,
    });
    await waitFor(async () => (await lastProxiedCommand()) === 'hmget', {
      what: 'the writer to ask Redis what became of its write, its reply lost',
    });
    proxy.release();
    await writing;
    return counters;
  }

  it('counts an ack whose reply timed out but was applied as processed, and logs it as applied', async () => {
    const task = await claimed();
    const counters = await writeWithLostReply(task, { kind: 'succeeded', result: 'ok' }, 'succeeded');
    expect(await total(counters.processed)).toBe(1);
    expect(messages()).toContain('the reply to the succeeded write was lost, but Redis shows it applied');
    expect(messages().filter((msg) => msg.includes('lease lost'))).toEqual([]);
    expect(await direct.inspector.getTask(task.id)).toMatchObject({ status: 'succeeded', result: 'ok' });
  });

  it('counts a retry whose reply timed out but was applied as retried', async () => {
    const task = await claimed();
    const outcome: RunOutcome = { kind: 'retry', delayMs: 60_000, error: 'Error: boom' };
    const counters = await writeWithLostReply(task, outcome, 'retrying');
    expect(await total(counters.retried)).toBe(1);
    expect(messages()).toContain('the reply to the retried write was lost, but Redis shows it applied');
  });

  it('still discards, uncounted, a write that never landed because the lease went elsewhere meanwhile', async () => {
    const task = await claimed();
    const { outcomes, counters } = writer();
    proxy.hold('requests');
    const writing = outcomes.write(new ActiveRun(task, 30_000), { kind: 'succeeded', result: 'late' });
    // The lease runs out and the recoverer puts the task back before the held ack reaches Redis.
    await redis.zadd(queueKeys(direct.prefix, queue).active, 1, task.id);
    expect(await direct.consumer.recoverExpired(queue, 0)).toEqual([expect.objectContaining({ id: task.id })]);
    proxy.release();
    await writing;
    expect(await total(counters.processed)).toBe(0);
    expect(messages()).toContain('outcome discarded: lease lost (the task was recovered and runs again)');
    expect(await direct.inspector.getTask(task.id)).toMatchObject({ status: 'queued' });
  });
});
