import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { validateEnv } from '@app/config';
import { deleteByPrefix, createTestRedis, redisAppEnv, testRedisConnection, uniquePrefix } from '@app/testing';
import { SCHEMA_PATH } from '../../../scripts/client-schema';
import { ApiEnv } from './config/api.env';

/**
 * The typed client (libs/client) cannot drift from the api: its generated schema is regenerated here from the
 * document the api serves, wired as main.ts wires it (createApiApp) with the default limits, and must equal the
 * committed file byte for byte. On a failure: `npm run client:generate` and commit the result.
 */
describe('libs/client schema against the served OpenAPI document', () => {
  const prefix = uniquePrefix('client-schema');
  const saved = { ...process.env };
  // Read before process.env is replaced below (TEST_REDIS_* name the suite's topology).
  const connection = testRedisConnection();
  let app: NestFastifyApplication;

  beforeAll(async () => {
    // Only the env the api needs to boot: every limit the document states keeps its default.
    process.env = {
      PATH: saved.PATH,
      ...redisAppEnv(connection),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'none',
      HOST: '127.0.0.1',
    };
    const { createApiApp } = await import('./configure-api');
    app = await createApiApp(validateEnv(ApiEnv)(process.env), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    // Booting the whole api in process (every module, the OpenAPI document) takes seconds on a busy machine.
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    process.env = saved;
    const redis = createTestRedis(connection);
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  });

  it(`regenerates ${relative(process.cwd(), SCHEMA_PATH)} from GET /docs-json unchanged`, async () => {
    const res = await app.inject({ method: 'GET', url: '/docs-json' });
    expect(res.statusCode).toBe(200);
    // The generator `npm run client:generate` uses, in a node process of its own (see scripts/client-schema.js).
    const run = spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'scripts', 'client-schema.js')], {
      input: res.body,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const generated = run.stdout;
    const committed = readFileSync(SCHEMA_PATH, 'utf8');
    // Compared line by line so a failure shows where the api and the client part ways.
    expect(committed.split('\n')).toEqual(generated.split('\n'));
  });
});
