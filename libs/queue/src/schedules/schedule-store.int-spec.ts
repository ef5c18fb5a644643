import {
  checkQueueInvariant,
  createTestRedis,
  diffSnapshots,
  newTask,
  QueueHarness,
  snapshotKeys,
  TestRedis,
} from '@app/testing';
import {
  QueueErrorCode,
  QueueRegistry,
  queueKeys,
  QueueRedis,
  ScheduleDefinition,
  ScheduleStore,
  scheduleNamesKey,
  schedulesIndexedKey,
  scheduleTiming,
  taskIdPrefix,
} from '@app/queue';
import { defineScripts } from '../scripts/script-loader';

const queue = 'sq';
const MINUTE = 60_000;

/** A schedule of `queue` firing every second (ticks on whole seconds), the test defaults otherwise. */
const definition = (over: Partial<ScheduleDefinition> = {}): ScheduleDefinition => ({
  name: 'every-second',
  spec: { everyMs: 1000 },
  task: { type: 'echo', queue, payload: { n: 1 }, priority: 3, maxRetries: 2, timeoutMs: 5000 },
  enabled: true,
  missed: 'catch_up',
  catchUpLimit: 10,
  ...over,
});

/** The schedule scripts on a real Redis: compare-and-set, one task per tick, validation, names. */
describe('libs/queue schedules', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  let store: ScheduleStore;
  const hash = (id: string) => `${queueKeys(h.prefix, queue).schedulePrefix}${id}`;
  const taskHash = (id: string) => redis.hgetall(`${queueKeys(h.prefix, queue).taskPrefix}${id}`);
  /** Queued ids in claim order (no negative priorities here): the queued set, then the ready list. */
  const queuedIds = async () => [
    ...(await redis.zrange(queueKeys(h.prefix, queue).queued, 0, -1)),
    ...(await redis.lrange(queueKeys(h.prefix, queue).ready, 0, -1)),
  ];
  const redisNow = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };
  /** A schedule created as if a minute ago: its first tick is due now. */
  const dueSchedule = async (over: Partial<ScheduleDefinition> = {}) =>
    store.create(definition(over), (await redisNow()) - MINUTE);

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    h = await QueueHarness.boot();
    store = h.moduleRef.get(ScheduleStore);
  });
  afterEach(async () => {
    expect(await checkQueueInvariant(redis, h.prefix, queue)).toEqual([]);
    await h.close(redis);
  });

  it('creates a schedule waiting for its first tick, named, listed, and refuses a second one of that name', async () => {
    const now = await redisNow();
    const created = await store.create(definition(), now);
    expect(created).toMatchObject({
      id: expect.stringMatching(/^sq~[0-9a-f-]{36}$/),
      name: 'every-second',
      rev: 1,
      nextRunAt: (Math.floor(now / 1000) + 1) * 1000,
      lastRunAt: null,
      runs: 0,
    });
    expect(await redis.zrange(queueKeys(h.prefix, queue).schedules, 0, -1, 'WITHSCORES')).toEqual([
      created.id,
      String(created.nextRunAt),
    ]);
    expect(await redis.hgetall(scheduleNamesKey(h.prefix))).toEqual({ 'every-second': created.id });
    expect(await redis.pttl(hash(created.id))).toBe(-1);
    expect(await store.findByName('every-second')).toEqual(created);
    expect(await store.list()).toEqual([created]);
    await expect(store.create(definition({ task: { ...definition().task, queue: 'other' } }))).rejects.toMatchObject({
      code: QueueErrorCode.Conflict,
      message: expect.stringContaining(created.id),
    });
    expect(await store.list()).toEqual([created]);
  });

  it('fires a due tick once: the task hash is what enqueueTasks writes, plus schedule_id and scheduled_at', async () => {
    const schedule = await dueSchedule();
    const submitted = await h.producer.enqueue(
      newTask(queue, { payload: { n: 1 }, priority: 3, maxRetries: 2, timeoutMs: 5000 }),
    );
    const fired = await store.fire(schedule.id, {
      rev: schedule.rev,
      expected: schedule.nextRunAt!,
      ticks: [schedule.nextRunAt!],
      next: schedule.nextRunAt! + 1000,
    });
    expect(fired).toMatchObject({ outcome: 'fired', taskIds: [expect.stringMatching(/^sq\.[0-9a-z]{11,}$/)] });
    const taskId = fired.outcome === 'fired' ? fired.taskIds[0] : '';
    const [fromSchedule, fromSubmit] = [await taskHash(taskId), await taskHash(submitted.id)];
    expect(Object.keys(fromSchedule).sort()).toEqual(
      [...Object.keys(fromSubmit), 'schedule_id', 'scheduled_at'].sort(),
    );
    expect(fromSchedule).toMatchObject({
      type: 'echo',
      payload: '{"n":1}',
      priority: '3',
      max_retries: '2',
      timeout_ms: '5000',
      status: 'queued',
      schedule_id: schedule.id,
      scheduled_at: String(schedule.nextRunAt),
    });
    expect(await queuedIds()).toEqual([submitted.id, taskId]);
    expect(await redis.llen(queueKeys(h.prefix, queue).wake)).toBeGreaterThan(0);
    expect(await h.inspector.getTask(taskId)).toMatchObject({
      scheduleId: schedule.id,
      scheduledAt: schedule.nextRunAt,
    });
    expect(await store.view(schedule.id)).toMatchObject({
      nextRunAt: schedule.nextRunAt! + 1000,
      lastRunAt: schedule.nextRunAt,
      lastTaskId: taskId,
      lastTaskStatus: 'queued',
      runs: 1,
    });

    // The same tick again (another replica that read the same state): nothing written.
    const before = await snapshotKeys(redis, h.prefix);
    expect(
      await store.fire(schedule.id, {
        rev: schedule.rev,
        expected: schedule.nextRunAt!,
        ticks: [schedule.nextRunAt!],
        next: schedule.nextRunAt! + 1000,
      }),
    ).toEqual({ outcome: 'stale' });
    expect(diffSnapshots(before, await snapshotKeys(redis, h.prefix))).toEqual([]);
  });

  it('gives exactly one task per tick to concurrent callers on separate connections', async () => {
    const schedule = await dueSchedule({ catchUpLimit: 1 });
    const clients = Array.from({ length: 6 }, () => defineScripts(createTestRedis()) as QueueRedis);
    const stores = clients.map((client) => new ScheduleStore(client, h.options, new QueueRegistry(client, h.options)));
    const timing = scheduleTiming(schedule.spec, 0);
    try {
      // 30 ticks, every caller racing for each one with the state it read.
      for (let round = 0; round < 30; round++) {
        const current = await store.get(schedule.id);
        const tick = current.nextRunAt!;
        const results = await Promise.all(
          stores.map((s) =>
            s.fire(schedule.id, { rev: current.rev, expected: tick, ticks: [tick], next: timing.nextAfter(tick) }),
          ),
        );
        expect(results.filter((r) => r.outcome === 'fired')).toHaveLength(1);
        expect(results.filter((r) => r.outcome === 'stale')).toHaveLength(stores.length - 1);
      }
    } finally {
      clients.forEach((client) => client.disconnect());
    }
    const ids = await queuedIds();
    expect(ids).toHaveLength(30);
    const ticks = await Promise.all(ids.map(async (id) => Number((await taskHash(id)).scheduled_at)));
    expect(new Set(ticks).size).toBe(30);
    expect(ticks).toEqual(Array.from({ length: 30 }, (_, i) => schedule.nextRunAt! + i * 1000));
    expect((await store.get(schedule.id)).runs).toBe(30);
  });

  it('enqueues several catch-up ticks in one call, and refuses a tick still ahead of Redis’ clock', async () => {
    const schedule = await dueSchedule();
    const t = schedule.nextRunAt!;
    const fired = await store.fire(schedule.id, {
      rev: 1,
      expected: t,
      ticks: [t, t + 1000, t + 2000],
      next: t + 3000,
    });
    expect(fired.outcome === 'fired' && fired.taskIds).toHaveLength(3);
    const scheduledAt = await Promise.all((await queuedIds()).map(async (id) => (await taskHash(id)).scheduled_at));
    expect(scheduledAt).toEqual([String(t), String(t + 1000), String(t + 2000)]);

    const ahead = (Math.floor((await redisNow()) / 1000) + 30) * 1000;
    await redis.hset(hash(schedule.id), 'next_run_at', ahead);
    const before = await snapshotKeys(redis, h.prefix);
    const refused = await store.fire(schedule.id, { rev: 1, expected: ahead, ticks: [ahead], next: ahead + 1000 });
    expect(refused).toEqual({ outcome: 'not_due', now: expect.any(Number) });
    expect(diffSnapshots(before, await snapshotKeys(redis, h.prefix))).toEqual([]);
    await redis.hset(hash(schedule.id), 'next_run_at', t + 3000);
  });

  it('refuses every malformed argument of every schedule script before writing anything', async () => {
    const schedule = await dueSchedule();
    const s = h.scripts;
    const keys = queueKeys(h.prefix, queue);
    const t = schedule.nextRunAt!;
    const fire = (...argv: (string | number)[]) =>
      s.taskqFireSchedule(hash(schedule.id), keys.schedules, keys.queued, keys.seq, keys.wake, keys.ready, ...argv);
    const base = [keys.taskPrefix, schedule.id, 1, t];
    const ids = taskIdPrefix(queue);
    const def = ['n', queue, '', 1000, '', 'echo', '1', 0, 0, 1, '1', 'skip', 5];
    const save = (...argv: (string | number)[]) => s.taskqSaveSchedule(hash(schedule.id), keys.schedules, ...argv);
    const saveArgs = [schedule.id, 'update', 1, -1, 1000, 'ch'];
    const withDef = (i: number, value: string | number) => def.map((v, j) => (j === i ? value : v));
    const before = await snapshotKeys(redis, h.prefix);
    // Thunks, called one at a time: on a Cluster a reply from another node could settle (and be reported as
    // unhandled) while an earlier call is still awaited.
    const refused: [() => Promise<unknown>, RegExp][] = [
      [() => fire(...base, t + 1000, 1, ids, 'x'), /TASKQ_BADARG tick must be an integer/],
      [() => fire(...base, t + 1000, 2, ids, t), /TASKQ_BADARG tick count/],
      [() => fire(...base, t + 2000, 2, ids, t + 1000, t), /TASKQ_BADARG tick .* ascending/],
      [() => fire(...base, t + 1000, 1, ids, t + 1000), /TASKQ_BADARG tick .* before the next run/],
      [() => fire(...base, t + 1000, 1, ids, t - 1000), /TASKQ_BADARG tick must be between/],
      [() => fire(...base, t, 0, ids), /TASKQ_BADARG next run .* after the expected tick/],
      [() => fire(...base, t + 1000, 1, '', t), /TASKQ_BADARG task id prefix/],
      [() => fire(keys.taskPrefix, schedule.id, 'nan', t, t + 1000, 0, ids), /TASKQ_BADARG expected revision/],
      [() => fire(...base, t + 1000, 1001, ids), /TASKQ_BADARG tick count/],
      [() => save(...saveArgs, ...withDef(7, 101)), /TASKQ_BADARG priority/],
      [() => save(...saveArgs, ...withDef(8, -1)), /TASKQ_BADARG max_retries/],
      [() => save(...saveArgs, ...withDef(9, 0)), /TASKQ_BADARG timeout_ms/],
      [() => save(...saveArgs, ...withDef(11, 'later')), /TASKQ_BADARG missed/],
      [() => save(...saveArgs, ...withDef(12, 0)), /TASKQ_BADARG catch_up_limit/],
      [() => save(...saveArgs, ...withDef(10, 'yes')), /TASKQ_BADARG enabled/],
      [() => save(...saveArgs, ...withDef(2, '* * * * *')), /TASKQ_BADARG cron\/every_ms/],
      [() => save(...saveArgs, ...withDef(3, 999)), /TASKQ_BADARG every_ms/],
      [() => save(...saveArgs, ...withDef(4, 'UTC')), /TASKQ_BADARG tz/],
      [() => save(...saveArgs, ...withDef(5, '')), /TASKQ_BADARG task_type/],
      [() => save(...saveArgs, ...def.slice(1)), /TASKQ_BADARG definition/],
      [() => save(schedule.id, 'replace', 1, -1, 1000, 'ch', ...def), /TASKQ_BADARG mode/],
      [() => save(schedule.id, 'create', 0, -1, 1000, 'ch', ...def), /TASKQ_BADARG next run/],
      [
        () =>
          s.taskqActivateSchedule(hash(schedule.id), keys.schedules, keys.seq, keys.scheduleIndex, schedule.id, '', 0),
        /TASKQ_BADARG schedules channel/,
      ],
      [
        () =>
          s.taskqActivateSchedule(
            hash(schedule.id),
            keys.schedules,
            keys.seq,
            keys.scheduleIndex,
            schedule.id,
            'ch',
            -1,
          ),
        /TASKQ_BADARG max schedules/,
      ],
      [
        () => s.taskqDeleteSchedule(hash(schedule.id), keys.schedules, keys.scheduleIndex, ''),
        /TASKQ_BADARG schedule id/,
      ],
      [() => s.taskqIndexSchedule(hash(schedule.id), keys.scheduleIndex, schedule.id, ''), /TASKQ_BADARG name/],
      [
        () => s.taskqIndexSchedule(hash(schedule.id), keys.scheduleIndex, '', 'every-second'),
        /TASKQ_BADARG schedule id/,
      ],
      [() => s.taskqClaimScheduleName(scheduleNamesKey(h.prefix), '', 'x', ''), /TASKQ_BADARG name/],
      [() => s.taskqReleaseScheduleName(scheduleNamesKey(h.prefix), 'every-second', ''), /TASKQ_BADARG schedule id/],
    ];
    for (const [call, error] of refused) await expect(call()).rejects.toThrow(error);
    expect(diffSnapshots(before, await snapshotKeys(redis, h.prefix))).toEqual([]);
  });

  it('edits by compare-and-set: a template edit keeps the tick it waits for, a new spec restarts, disabling stops it', async () => {
    const schedule = await dueSchedule();
    const t = schedule.nextRunAt!;
    const edited = await store.update(schedule.id, (current) => ({
      ...current,
      task: { ...current.task, priority: 9 },
    }));
    expect(edited).toMatchObject({ rev: 2, nextRunAt: t, task: { priority: 9 } });
    // A scheduler that read revision 1 can no longer fire.
    expect(await store.fire(schedule.id, { rev: 1, expected: t, ticks: [t], next: t + 1000 })).toEqual({
      outcome: 'stale',
    });
    const fired = await store.fire(schedule.id, { rev: 2, expected: t, ticks: [t], next: t + 1000 });
    expect(fired.outcome === 'fired' && (await taskHash(fired.taskIds[0])).priority).toBe('9');

    // An unchanged definition writes nothing.
    const before = await snapshotKeys(redis, h.prefix);
    expect(await store.update(schedule.id, (current) => ({ ...current }))).toMatchObject({ rev: 2 });
    expect(diffSnapshots(before, await snapshotKeys(redis, h.prefix))).toEqual([]);

    const now = await redisNow();
    const respec = await store.update(schedule.id, (current) => ({ ...current, spec: { everyMs: MINUTE } }), now);
    expect(respec).toMatchObject({ rev: 3, nextRunAt: (Math.floor(now / MINUTE) + 1) * MINUTE });

    const disabled = await store.update(schedule.id, (current) => ({ ...current, enabled: false }));
    expect(disabled).toMatchObject({ enabled: false, nextRunAt: null });
    expect(await store.due(queue, 10)).toEqual([]);
    expect(await store.fire(schedule.id, { rev: 4, expected: respec.nextRunAt!, ticks: [], next: null })).toEqual({
      outcome: 'stale',
    });

    await expect(
      store.update(schedule.id, (current) => ({ ...current, task: { ...current.task, queue: 'elsewhere' } })),
    ).rejects.toMatchObject({ code: QueueErrorCode.Conflict, message: expect.stringContaining('cannot change') });
  });

  it('upserts by name: creates, then updates, and writes nothing for the same definition', async () => {
    const first = await store.upsert(definition({ name: 'nightly', spec: { cron: '0 3 * * *', tz: 'europe/berlin' } }));
    expect(first).toMatchObject({
      created: true,
      changed: true,
      record: { spec: { cron: '0 3 * * *', tz: 'Europe/Berlin' } },
    });
    const before = await snapshotKeys(redis, h.prefix);
    const again = await store.upsert(definition({ name: 'nightly', spec: { cron: '0 3 * * *', tz: 'Europe/Berlin' } }));
    expect(again).toEqual({ created: false, changed: false, record: first.record });
    expect(diffSnapshots(before, await snapshotKeys(redis, h.prefix))).toEqual([]);
    const changed = await store.upsert(
      definition({ name: 'nightly', spec: { cron: '0 4 * * *', tz: 'Europe/Berlin' }, enabled: false }),
    );
    expect(changed).toMatchObject({
      created: false,
      changed: true,
      record: { id: first.record.id, rev: 2, enabled: false },
    });
  });

  it('deletes a schedule with its name; a name left pointing at nothing is taken over, one being created is not', async () => {
    const schedule = await dueSchedule();
    await store.remove(schedule.id);
    expect(await redis.exists(hash(schedule.id))).toBe(0);
    expect(await redis.hgetall(scheduleNamesKey(h.prefix))).toEqual({});
    expect(await store.due(queue, 10)).toEqual([]);
    await expect(store.get(schedule.id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });
    await expect(store.remove(schedule.id)).rejects.toMatchObject({ code: QueueErrorCode.NotFound });

    // A create that died after claiming its name: the entry points at a schedule that never came to be.
    const ghost = `${queue}~00000000-0000-0000-0000-000000000000`;
    await redis.hset(scheduleNamesKey(h.prefix), 'every-second', ghost);
    expect(await store.list()).toEqual([]);
    expect(await store.findByName('every-second')).toBeUndefined();
    const created = await store.create(definition());
    expect(await redis.hget(scheduleNamesKey(h.prefix), 'every-second')).toBe(created.id);

    // A create in progress (written pending, name claimed, not yet active) keeps its name.
    const pending = `${queue}~11111111-1111-1111-1111-111111111111`;
    await redis.hset(hash(pending), 'rev', 1, 'name', 'in-progress', 'pending', '1');
    await redis.pexpire(hash(pending), 30_000);
    await redis.hset(scheduleNamesKey(h.prefix), 'in-progress', pending);
    await expect(store.create(definition({ name: 'in-progress' }))).rejects.toMatchObject({
      code: QueueErrorCode.Conflict,
      message: expect.stringContaining('being created'),
    });
    expect(await store.list()).toEqual([created]);
    await redis.del(hash(pending));
  });

  it('holds a queue to MAX_SCHEDULES, counting disabled schedules too; the other queues are not held up', async () => {
    await h.close(redis);
    h = await QueueHarness.boot({ maxSchedules: 2 });
    store = h.moduleRef.get(ScheduleStore);
    await store.create(definition({ name: 'one' }));
    await store.create(definition({ name: 'two', enabled: false }));
    const before = await snapshotKeys(redis, h.prefix);
    await expect(store.create(definition({ name: 'three' }))).rejects.toMatchObject({
      code: QueueErrorCode.LimitReached,
      message: expect.stringContaining('at most 2 per queue (MAX_SCHEDULES)'),
    });
    await expect(store.upsert(definition({ name: 'three' }))).rejects.toMatchObject({
      code: QueueErrorCode.LimitReached,
    });
    // Nothing of the refused creates is left: not the pending hash, not the name.
    expect(diffSnapshots(before, await snapshotKeys(redis, h.prefix))).toEqual([]);
    // Editing one that exists is not a new one, and another queue has its own count.
    await store.upsert(definition({ name: 'two', enabled: true }));
    await store.create(definition({ name: 'three', task: { ...definition().task, queue: 'other' } }));
    await store.remove((await store.findByName('one'))!.id);
    await store.create(definition({ name: 'four' }));
    expect((await store.list()).map((s) => s.name)).toEqual(['four', 'three', 'two']);
    for (const s of await store.list()) await store.remove(s.id);
  });

  it('pages schedules by name across queues: every one once, in order, reading only the queues asked for', async () => {
    const queues = ['sq', 'pa', 'pb'];
    const names: string[] = [];
    for (let i = 0; i < 23; i++) {
      const name = `n${String((i * 7) % 23).padStart(2, '0')}${i % 2 ? '-x' : ''}`;
      names.push(name);
      await store.create(definition({ name, task: { ...definition().task, queue: queues[i % 3] } }));
    }
    const walk = async (which: string[], limit: number) => {
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await store.page(which, after, limit);
        expect(page.records.length).toBeLessThanOrEqual(limit);
        seen.push(...page.records.map((record) => record.name));
        after = page.next ?? undefined;
        pages++;
      } while (after !== undefined);
      return { seen, pages };
    };
    const sorted = [...names].sort();
    for (const limit of [1, 4, 23, 100]) {
      const { seen, pages } = await walk(queues, limit);
      expect(seen).toEqual(sorted);
      expect(pages).toBe(Math.max(1, Math.ceil(23 / limit)));
    }
    // A caller limited to some queues pages through theirs only.
    const some = await walk(['pa', 'pb'], 5);
    expect(some.seen).toEqual(names.filter((_name, i) => i % 3 !== 0).sort());
    expect((await store.page(['nowhere'], undefined, 10)).records).toEqual([]);
    expect(await store.page([], undefined, 10)).toEqual({ records: [], next: null });
    // A name is a position: a schedule created before the cursor does not shift the next page.
    const first = await store.page(queues, undefined, 5);
    await store.create(definition({ name: 'a-first' }));
    const second = await store.page(queues, first.next!, 5);
    expect(second.records.map((record) => record.name)).toEqual(sorted.slice(5, 10));
    for (const record of await store.list()) await store.remove(record.id);
  });

  it('indexes the schedules of an earlier version once, so they are listed and counted', async () => {
    const created = await store.create(definition({ name: 'earlier' }));
    // As an earlier version left it: no index entry, no flag.
    await redis.del(queueKeys(h.prefix, queue).scheduleIndex);
    await redis.del(schedulesIndexedKey(h.prefix));
    const fresh = new ScheduleStore(h.scripts, h.options, new QueueRegistry(h.scripts, h.options));
    expect((await fresh.page([queue], undefined, 10)).records).toEqual([created]);
    expect(await redis.exists(schedulesIndexedKey(h.prefix))).toBe(1);
    await fresh.remove(created.id);
  });

  it('refuses to forget a queue with schedules, naming five and counting the rest', async () => {
    for (let i = 0; i < 7; i++) await store.create(definition({ name: `keeps-${i}` }));
    await expect(h.admin.forget(queue)).rejects.toMatchObject({
      code: QueueErrorCode.WrongState,
      message: `queue ${queue} is the target of 7 schedule(s): keeps-0, keeps-1, keeps-2, keeps-3, keeps-4 and 2 more (delete them first: DELETE /schedules/{name}); only an empty queue can be forgotten`,
    });
    expect(await h.inspector.listQueues()).toContain(queue);
    for (const record of await store.list()) await store.remove(record.id);
    await h.admin.forget(queue);
    expect(await h.inspector.listQueues()).not.toContain(queue);
  });
});
