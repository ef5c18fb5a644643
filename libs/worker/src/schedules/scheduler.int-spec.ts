import { Injectable, LoggerService, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test, TestingModule } from '@nestjs/testing';
import { register } from 'prom-client';
import { TaskContractRegistry } from '@app/contracts';
import { METRIC, MetricsModule } from '@app/metrics';
import { QueueModule, queueKeys, REDIS_CLIENT, RedisClient, ScheduleDefinition, ScheduleStore } from '@app/queue';
import {
  checkQueueInvariant,
  createTestRedis,
  deleteByPrefix,
  diffSnapshots,
  snapshotKeys,
  testQueueOptions,
  TestRedis,
  uniquePrefix,
  waitFor,
} from '@app/testing';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { TaskHandler } from '../dispatch/task-handler.decorator';
import { Cron, TaskSchedule } from './task-schedule.decorator';
import { ScheduleDeclarations } from './schedule-declarations';
import { Clock, Scheduler, SCHEDULER_CLOCK, SCHEDULER_MAX_WAIT_MS } from './scheduler';

const queue = 'sched';

const options: WorkerOptions = {
  concurrency: 1,
  queues: [{ name: queue, weight: 1 }],
  shutdownGraceMs: 100,
  heartbeatIntervalMs: 1000,
  recoveryIntervalMs: 1000,
  keyMigrationBatch: 500,
  idleWaitMs: 100,
  scheduleMisfireGraceMs: 60_000,
  backoff: { baseMs: 10, maxMs: 20 },
  queueLimits: new Map(),
  results: { postgres: false, retentionDays: 0, bufferMax: 1000, batchSize: 100, flushIntervalMs: 100, leaseMs: 1000 },
  threads: { size: 0, memoryMb: 0 },
};

@Injectable()
class NightlyHandler {
  @TaskHandler('echo')
  @TaskSchedule('0 3 * * *', { tz: 'Europe/Berlin', payload: { report: 'nightly' } })
  @TaskSchedule('*/10 * * * * *', { name: 'echo-often', queue, missed: 'catch_up', catchUpLimit: 5, priority: 7 })
  echo(payload: unknown) {
    return payload;
  }
}

@Injectable()
class DeprecatedCronHandler {
  @TaskHandler('echo')
  @Cron('0 5 * * *', { name: 'legacy-cron', queue })
  echo(payload: unknown) {
    return payload;
  }
}

@Injectable()
class ScheduleWithoutHandler {
  @TaskSchedule('0 3 * * *')
  run() {
    return null;
  }
}

@Injectable()
class BadDeclarations {
  @TaskHandler('email')
  @TaskSchedule('61 * * * *')
  @TaskSchedule('0 3 * * *', { name: 'mail', tz: 'Nowhere/Special' })
  @Cron('0 4 * * *', { name: 'mail', payload: { to: 'not an address' } })
  send() {
    return null;
  }
}

/** The scheduler's parts booted in process (as the worker module wires them), on a fresh prefix of the test Redis. */
async function boot(
  prefix: string,
  providers: Provider[],
  clock: Clock = { now: () => Date.now() },
  logger: LoggerService | false = false,
) {
  const moduleRef = await Test.createTestingModule({
    imports: [QueueModule.forRoot(testQueueOptions(prefix)), MetricsModule.forWorker(), DiscoveryModule],
    providers: [
      { provide: TaskContractRegistry, useValue: TaskContractRegistry.forDeployment(true) },
      { provide: WORKER_OPTIONS, useValue: options },
      { provide: SCHEDULER_CLOCK, useValue: clock },
      ScheduleDeclarations,
      Scheduler,
      ...providers,
    ],
  }).compile();
  moduleRef.useLogger(logger);
  try {
    await moduleRef.init();
  } catch (error) {
    // A refused boot cannot be closed (close() awaits the failed init): its connection must not outlive the test.
    moduleRef.get<RedisClient>(REDIS_CLIENT).disconnect();
    throw error;
  }
  return moduleRef;
}

const every = (name: string, everyMs: number, over: Partial<ScheduleDefinition> = {}): ScheduleDefinition => ({
  name,
  spec: { everyMs },
  task: { type: 'echo', queue, payload: { from: name }, priority: 0, maxRetries: 0, timeoutMs: 1000 },
  enabled: true,
  missed: 'catch_up',
  catchUpLimit: 10,
  ...over,
});

describe('the worker scheduler, on a real Redis', () => {
  let redis: TestRedis;
  let prefix: string;
  let moduleRef: TestingModule | undefined;
  /** Queued ids in claim order (no negative priorities here): the queued set, then the ready list. */
  const queued = async () => [
    ...(await redis.zrange(queueKeys(prefix, queue).queued, 0, -1)),
    ...(await redis.lrange(queueKeys(prefix, queue).ready, 0, -1)),
  ];
  const scheduledAt = async (ids: string[]) =>
    Promise.all(
      ids.map(async (id) => Number(await redis.hget(`${queueKeys(prefix, queue).taskPrefix}${id}`, 'scheduled_at'))),
    );
  const redisNow = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    prefix = uniquePrefix('scheduler');
  });
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    expect(await checkQueueInvariant(redis, prefix, queue)).toEqual([]);
    await deleteByPrefix(redis, prefix);
    register.clear();
  });

  it('upserts the @TaskSchedule declarations by name, and writes nothing when they are unchanged', async () => {
    moduleRef = await boot(prefix, [NightlyHandler]);
    const store = moduleRef.get(ScheduleStore);
    await moduleRef.get(ScheduleDeclarations).upsertAll();
    expect(await store.list()).toEqual([
      expect.objectContaining({
        name: 'echo',
        spec: { cron: '0 3 * * *', tz: 'Europe/Berlin' },
        task: {
          type: 'echo',
          queue: 'default',
          payload: { report: 'nightly' },
          priority: 0,
          maxRetries: 3,
          timeoutMs: 60_000,
        },
        missed: 'skip',
        enabled: true,
      }),
      expect.objectContaining({
        name: 'echo-often',
        spec: { cron: '*/10 * * * * *', tz: 'UTC' },
        task: expect.objectContaining({ queue, priority: 7 }),
        missed: 'catch_up',
        catchUpLimit: 5,
      }),
    ]);
    const before = await snapshotKeys(redis, prefix);
    await moduleRef.get(ScheduleDeclarations).upsertAll();
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);

    // A declaration Redis refuses (its schedule lives in another queue) is logged and left; the others apply.
    const often = (await store.findByName('echo-often'))!;
    await store.remove(often.id);
    await store.create({ ...often, task: { ...often.task, queue: 'elsewhere' } });
    const nightly = (await store.findByName('echo'))!;
    await store.update(nightly.id, (current) => ({ ...current, enabled: false }));
    await moduleRef.get(ScheduleDeclarations).upsertAll();
    expect(await store.findByName('echo')).toMatchObject({ enabled: true });
    expect(await store.findByName('echo-often')).toMatchObject({ task: { queue: 'elsewhere' } });
  });

  it('still takes the deprecated @Cron (one release), warning at boot that it is now @TaskSchedule', async () => {
    const warnings: string[] = [];
    const quiet = () => undefined;
    const logger: LoggerService = { log: quiet, error: quiet, warn: (m) => warnings.push(JSON.stringify(m)) };
    moduleRef = await boot(prefix, [DeprecatedCronHandler], undefined, logger);
    await moduleRef.get(ScheduleDeclarations).upsertAll();
    expect(await moduleRef.get(ScheduleStore).findByName('legacy-cron')).toMatchObject({
      spec: { cron: '0 5 * * *', tz: 'UTC' },
      task: expect.objectContaining({ type: 'echo', queue }),
    });
    expect(warnings).toEqual([
      expect.stringContaining(
        "@Cron('0 5 * * *') on DeprecatedCronHandler.echo: @Cron is deprecated (it shares @nestjs/schedule's name",
      ),
    ]);
    expect(warnings[0]).toContain('write @TaskSchedule');
  });

  it('refuses to boot on a bad declaration, naming it', async () => {
    await expect(boot(prefix, [ScheduleWithoutHandler])).rejects.toThrow(
      /ScheduleWithoutHandler\.run has @TaskSchedule but no @TaskHandler/,
    );
    const error = await boot(prefix, [BadDeclarations]).catch((e: Error) => e);
    expect(String(error)).toMatch(
      /@TaskSchedule\('61 \* \* \* \*'\) on BadDeclarations\.send: cron "61 \* \* \* \*" is not a cron expression/,
    );
    expect(String(error)).toMatch(/tz "Nowhere\/Special" is not a time zone/);
    expect(String(error)).toMatch(/@Cron\('0 4 \* \* \*'\) on BadDeclarations\.send: payload\.to must be an email/);
  });

  it('fires a one-second schedule once per tick, each tick once, and stops firing when stopped', async () => {
    moduleRef = await boot(prefix, []);
    const store = moduleRef.get(ScheduleStore);
    const schedule = await store.create(every('tick', 1000));
    const scheduler = moduleRef.get(Scheduler);
    scheduler.start();
    await waitFor(async () => (await queued()).length >= 3, { timeoutMs: 15_000, what: '3 scheduled tasks' });
    await scheduler.stop();
    const ids = await queued();
    const ticks = await scheduledAt(ids);
    expect(ticks).toEqual(ticks.map((_, i) => schedule.nextRunAt! + i * 1000));
    const metrics = await register.metrics();
    expect(metrics).toContain(`${METRIC.scheduleRuns}{schedule="tick"} ${ids.length}`);
    expect(metrics).toContain(`${METRIC.scheduleLag}_count ${ids.length}`);

    // Stopped: the next tick passes and nothing fires it.
    const next = (await store.get(schedule.id)).nextRunAt!;
    await waitFor(async () => (await redisNow()) > next + 500, { timeoutMs: 5000, what: 'the next tick to pass' });
    expect(await queued()).toEqual(ids);
  });

  it('fires a due schedule behind 101 it cannot load (unknown time zone), leaving those aside with a metric and a log saying what to do', async () => {
    const errors: string[] = [];
    const quiet = () => undefined;
    const logger: LoggerService = { log: quiet, warn: quiet, error: (m) => errors.push(JSON.stringify(m)) };
    moduleRef = await boot(prefix, [], undefined, logger);
    const store = moduleRef.get(ScheduleStore);
    const now = await redisNow();
    // Past due by 10 minutes: their ticks sort before the good schedule's at the head of the queue's ZSET.
    const broken = await Promise.all(
      Array.from({ length: 101 }, (_, i) =>
        store.create({ ...every(`broken-${i}`, 1000), spec: { cron: '* * * * *', tz: 'UTC' } }, now - 600_000),
      ),
    );
    // A zone the api accepted but this worker's ICU does not know.
    await Promise.all(
      broken.map((b) => redis.hset(`${queueKeys(prefix, queue).schedulePrefix}${b.id}`, 'tz', 'Nowhere/Special')),
    );
    const good = await store.create(every('good', 1000), now - 60_000);
    const head = await store.due(queue, 100);
    expect(head.map((d) => d.id)).not.toContain(good.id);

    const scheduler = moduleRef.get(Scheduler);
    await scheduler.runOnce();
    const fired = await Promise.all(
      (await queued()).map((id) => redis.hget(`${queueKeys(prefix, queue).taskPrefix}${id}`, 'schedule_id')),
    );
    expect(fired.length).toBeGreaterThan(0);
    expect(new Set(fired)).toEqual(new Set([good.id]));
    expect((await store.get(good.id)).nextRunAt).toBeGreaterThan(now - 60_000);
    // The broken ones are where they were, for a worker that can load them.
    for (const b of broken.slice(0, 3)) expect((await store.get(b.id)).nextRunAt).toBe(b.nextRunAt);
    expect(await register.metrics()).toContain(`${METRIC.schedulesUnloadable}{queue="${queue}"} 101`);
    expect(errors).toHaveLength(101);
    expect(errors[0]).toContain('is not a time zone this server knows');
    expect(errors[0]).toContain("the queue's other schedules fire as usual");
    expect(errors[0]).toMatch(/Run this worker on a Node with full ICU .* PATCH \/schedules\//);

    // Left aside, not retried hot: the next look neither loads nor logs them again.
    await scheduler.runOnce();
    expect(errors).toHaveLength(101);
  });

  it('sleeps until the soonest tick of its queues (at most SCHEDULER_MAX_WAIT_MS), never polling hot', async () => {
    // A clock that stands still: the waits are exact.
    const fixed = await redisNow();
    moduleRef = await boot(prefix, [], { now: () => fixed });
    const scheduler = moduleRef.get(Scheduler);
    const store = moduleRef.get(ScheduleStore);
    expect(await scheduler.runOnce()).toBe(SCHEDULER_MAX_WAIT_MS);
    const later = await store.create(every('later', 3_600_000), fixed);
    expect(await scheduler.runOnce()).toBe(Math.min(SCHEDULER_MAX_WAIT_MS, later.nextRunAt! - fixed));
    const soon = await store.create(every('soon', 3000), fixed);
    expect(await scheduler.runOnce()).toBe(Math.min(soon.nextRunAt!, later.nextRunAt!) - fixed);
    expect(soon.nextRunAt! - fixed).toBeGreaterThan(0);
  });

  it('never fires early when its clock runs ahead of Redis: the script refuses, and it waits for Redis’ time', async () => {
    const ahead: Clock = { now: () => Date.now() + 30_000 };
    moduleRef = await boot(prefix, [], ahead);
    const schedule = await moduleRef.get(ScheduleStore).create(every('ahead', 10_000), await redisNow());
    const scheduler = moduleRef.get(Scheduler);
    const before = await snapshotKeys(redis, prefix);
    const wait = await scheduler.runOnce();
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);
    // Corrected by the offset Redis reported: now reads Redis' time, and the wait is for the real tick.
    expect(Math.abs(scheduler.now() - (await redisNow()))).toBeLessThan(250);
    const untilTick = Math.min(SCHEDULER_MAX_WAIT_MS, schedule.nextRunAt! - (await redisNow()));
    expect(Math.abs(wait - untilTick)).toBeLessThan(250);
  });
});
