import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { validateEnv } from '@app/config';
import { createTestRedis, deleteByPrefix, inProcessApiEnv, TestRedis, uniquePrefix } from '@app/testing';
import { ApiEnv } from './config/api.env';
import { keySet } from '../../../test/e2e/keys';

/** The api app wired exactly as main.ts wires it (createApiApp), in process, on a real Redis. */
describe('api app, as wired, on a real Redis', () => {
  const prefix = uniquePrefix('api');
  const saved = { ...process.env };
  let app: NestFastifyApplication;
  let redis: TestRedis;

  beforeAll(async () => {
    Object.assign(process.env, inProcessApiEnv(prefix));
    // Imported now: ConfigModule.forRoot in ApiModule reads process.env when the module is loaded.
    const { createApiApp } = await import('./configure-api');
    app = await createApiApp(validateEnv(ApiEnv)(process.env), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    redis = createTestRedis();
  });

  afterAll(async () => {
    await app.close();
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
    process.env = saved;
  });

  const post = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
  const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it.each([
    ['/submit', `{"task_type":"echo","payload":${nested(6000)}}`],
    ['/submit/batch', `{"tasks":[{"task_type":"echo","payload":1},{"task_type":"echo","payload":${nested(6000)}}]}`],
  ])(
    'answers a valid echo body nested 6,000 levels deep on %s with 400 maxDepth, writing nothing',
    async (url, body) => {
      const before = await keySet(redis, prefix);
      const res = await post(url, body);
      expect({ status: res.statusCode, body: res.json() }).toEqual({
        status: 400,
        body: {
          statusCode: 400,
          error: 'Bad Request',
          message: 'body nests deeper than 64 levels',
          errors: [{ field: 'body', rule: 'maxDepth', message: 'body nests deeper than 64 levels' }],
        },
      });
      expect(await keySet(redis, prefix)).toEqual(before);
    },
  );

  it('takes a body exactly 64 levels deep', async () => {
    const res = await post('/submit', `{"task_type":"echo","payload":${nested(63)}}`);
    expect(res.statusCode).toBe(202);
  });
});
