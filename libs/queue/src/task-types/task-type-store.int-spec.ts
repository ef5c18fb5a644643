import { createTestRedis, QueueHarness, TestRedis } from '@app/testing';
import { MAX_RUNTIME_TASK_TYPES, QueueErrorCode, TaskTypeStore, taskTypesKey } from '@app/queue';

describe('TaskTypeStore on a real Redis', () => {
  let redis: TestRedis;
  let h: QueueHarness;
  let store: TaskTypeStore;

  beforeAll(async () => {
    redis = createTestRedis();
    h = await QueueHarness.boot();
    store = h.moduleRef.get(TaskTypeStore);
  });
  afterAll(async () => {
    await h.close(redis);
    await redis.quit();
  });

  it(`holds at most ${MAX_RUNTIME_TASK_TYPES} types: a new one past it is refused with nothing written, a replaced one is not`, async () => {
    const key = taskTypesKey(h.prefix);
    const definition = JSON.stringify({ payload_schema: true, created_at: 1, updated_at: 1 });
    const fields = Array.from({ length: MAX_RUNTIME_TASK_TYPES - 1 }, (_, i) => [`t.${i}`, definition]).flat();
    await redis.hset(key, ...fields);
    expect((await store.put('t.last', { payload_schema: true })).created).toBe(true);
    const version = await store.version();

    await expect(store.put('t.over', { payload_schema: true })).rejects.toMatchObject({
      code: QueueErrorCode.LimitReached,
    });
    expect(await redis.hexists(key, 't.over')).toBe(0);
    expect(await store.version()).toBe(version);

    const replaced = await store.put('t.0', { payload_schema: false, description: 'v2' });
    expect(replaced).toMatchObject({ created: false, type: { name: 't.0', created_at: 1, description: 'v2' } });
    expect(await store.version()).toBe(version + 1);
    expect(await store.remove('t.last')).toBe(true);
    expect((await store.put('t.over', { payload_schema: true })).created).toBe(true);
    expect((await store.snapshot()).types).toHaveLength(MAX_RUNTIME_TASK_TYPES);
  });
});
