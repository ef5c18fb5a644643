import { ArgumentMetadata, Type } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { register } from 'prom-client';
import { validateEnv } from '@app/config';
import { METRIC } from '@app/metrics';
import {
  createTestRedis,
  deleteByPrefix,
  diffSnapshots,
  inProcessApiEnv,
  snapshotKeys,
  TestRedis,
  uniquePrefix,
} from '@app/testing';
import { prng } from '../../../../test/faults/harness';
import { ApiEnv } from '../config/api.env';
import { ApiValidationPipe } from '../validation/api-validation.pipe';
import { CreateScheduleDto, PatchScheduleDto, PutScheduleDto } from './dto/schedule-body.dto';
import { scheduleBodyChecks } from './schedule-body.checks';

const echo = { task_type: 'echo', payload: { n: 1 } };

/** The schedule routes of the api as wired (createApiApp), in process, on a real Redis. */
describe('schedule routes, on a real Redis', () => {
  const prefix = uniquePrefix('api-schedules');
  const saved = { ...process.env };
  let app: NestFastifyApplication;
  let redis: TestRedis;
  let document: OpenAPIObject;

  beforeAll(async () => {
    Object.assign(process.env, inProcessApiEnv(prefix));
    // Imported only now: ConfigModule.forRoot reads the environment when the api module is loaded.
    const { createApiApp } = await import('../configure-api');
    app = await createApiApp(validateEnv(ApiEnv)(process.env), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    redis = createTestRedis();
    document = (await app.inject({ method: 'GET', url: '/docs-json' })).json();
  });

  afterAll(async () => {
    await app.close();
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
    register.clear();
    process.env = saved;
  });

  afterEach(async () => {
    await deleteByPrefix(redis, prefix);
  });

  const send = async (method: 'POST' | 'PUT' | 'PATCH' | 'GET' | 'DELETE', url: string, body?: unknown) => {
    const res = await app.inject({
      method,
      url,
      ...(body === undefined ? {} : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
  };

  it('creates a schedule: 201 with its id, Location and its next 5 run times; GET by id or name; listed', async () => {
    const created = await send('POST', '/schedules', {
      name: 'nightly',
      cron: '0 3 * * *',
      tz: 'Europe/Berlin',
      task: { task_type: 'email', payload: 'ops@example.com', queue: 'reports' },
    });
    expect(created.status).toBe(201);
    const id = created.body.schedule_id as string;
    expect(id).toMatch(/^reports~[0-9a-f-]{36}$/);
    expect(created.headers.location).toBe(`/schedules/${id}`);
    expect(created.body).toMatchObject({
      name: 'nightly',
      cron: '0 3 * * *',
      every_ms: null,
      tz: 'Europe/Berlin',
      // Defaults resolved as for a submit: the email contract's normalized payload, its retries and timeout.
      task: { task_type: 'email', queue: 'reports', priority: 0, max_retries: expect.any(Number) },
      enabled: true,
      missed: 'skip',
      catch_up_limit: 10,
      last_run_at: null,
      last_task_id: null,
      last_task_status: null,
      runs: 0,
    });
    const runs = (created.body.next_runs as string[]).map((t) => new Date(t));
    expect(runs).toHaveLength(5);
    expect(created.body.next_run_at).toBe(created.body.next_runs[0]);
    for (const run of runs) {
      // 03:00 in Berlin: 01:00 or 02:00 UTC, a day apart.
      expect([1, 2]).toContain(run.getUTCHours());
      expect(run.getUTCMinutes()).toBe(0);
    }
    expect((await send('GET', `/schedules/${id}`)).body).toEqual(created.body);
    expect((await send('GET', '/schedules/nightly')).body).toEqual(created.body);
    expect((await send('GET', '/schedules')).body).toEqual({ schedules: [created.body], next_cursor: null });
    expect((await send('GET', '/queues')).body.queues.map((q: { queue: string }) => q.queue)).toContain('reports');
    expect(await register.metrics()).toMatch(
      new RegExp(`${METRIC.schedulePeriod}\\{schedule="nightly",queue="reports"\\} (86400|82800|90000)\\n`),
    );
  });

  it('upserts by name with PUT: 201, then 200 (unchanged writes nothing), a new queue is a 409', async () => {
    const body = { every_ms: 60_000, task: echo, missed: 'catch_up', catch_up_limit: 3 };
    const first = await send('PUT', '/schedules/minutely', body);
    expect(first).toMatchObject({ status: 201, body: { name: 'minutely', every_ms: 60_000, cron: null, tz: null } });
    expect(first.headers.location).toBe(`/schedules/${first.body.schedule_id}`);
    const before = await snapshotKeys(redis, prefix);
    const again = await send('PUT', '/schedules/minutely', body);
    expect(again).toMatchObject({ status: 200, body: first.body });
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);

    const moved = await send('PUT', '/schedules/minutely', { ...body, task: { ...echo, queue: 'elsewhere' } });
    expect(moved).toMatchObject({ status: 409, body: { message: expect.stringContaining('cannot change') } });
    const changed = await send('PUT', '/schedules/minutely', { ...body, every_ms: 120_000 });
    expect(changed).toMatchObject({ status: 200, body: { schedule_id: first.body.schedule_id, every_ms: 120_000 } });
    expect(await send('POST', '/schedules', { ...body, name: 'minutely' })).toMatchObject({
      status: 409,
      body: {
        message: expect.stringContaining(`a schedule named minutely exists already (${first.body.schedule_id})`),
      },
    });
  });

  it('patches: a template edit keeps the tick, disabling empties next_runs, enabling restarts them; deletes', async () => {
    const created = (await send('POST', '/schedules', { name: 'p', every_ms: 3_600_000, task: echo })).body;
    const edited = await send('PATCH', '/schedules/p', { task: { ...echo, priority: 5 } });
    expect(edited).toMatchObject({ status: 200, body: { task: { priority: 5 }, next_run_at: created.next_run_at } });
    const disabled = await send('PATCH', `/schedules/${created.schedule_id}`, { enabled: false });
    expect(disabled.body).toMatchObject({ enabled: false, next_runs: [], next_run_at: null });
    const enabled = await send('PATCH', '/schedules/p', { enabled: true, cron: '*/5 * * * *', tz: 'Asia/Tokyo' });
    expect(enabled.body).toMatchObject({ enabled: true, cron: '*/5 * * * *', every_ms: null, tz: 'Asia/Tokyo' });
    expect(enabled.body.next_runs).toHaveLength(5);
    expect(await send('PATCH', '/schedules/p', {})).toMatchObject({
      status: 200,
      body: { updated_at: enabled.body.updated_at },
    });

    expect((await send('DELETE', '/schedules/p')).status).toBe(204);
    for (const [method, url] of [
      ['GET', '/schedules/p'],
      ['DELETE', `/schedules/${created.schedule_id}`],
      ['PATCH', '/schedules/p'],
      ['GET', '/schedules/default~00000000-0000-0000-0000-000000000000'],
    ] as const) {
      expect(await send(method, url, method === 'PATCH' ? { enabled: false } : undefined)).toMatchObject({
        status: 404,
        body: { statusCode: 404, error: 'Not Found' },
      });
    }
    expect((await send('GET', '/schedules')).body).toEqual({ schedules: [], next_cursor: null });
  });

  it.each<[string, string, string, unknown, { field: string; rule: string }[]]>([
    ['no timing', 'POST', '/schedules', { name: 'x', task: echo }, [{ field: 'cron', rule: 'isPresent' }]],
    [
      'a bad cron',
      'POST',
      '/schedules',
      { name: 'x', cron: '61 * * * *', task: echo },
      [{ field: 'cron', rule: 'isCronExpression' }],
    ],
    [
      'a cron that never fires',
      'POST',
      '/schedules',
      { name: 'x', cron: '0 0 30 2 *', task: echo },
      [{ field: 'cron', rule: 'firesAgain' }],
    ],
    [
      'an unknown time zone',
      'POST',
      '/schedules',
      { name: 'x', cron: '* * * * *', tz: 'Mars/Olympus', task: echo },
      [{ field: 'tz', rule: 'isTimeZone' }],
    ],
    [
      'a malformed time zone',
      'POST',
      '/schedules',
      { name: 'x', cron: '* * * * *', tz: 'UTC+1 ', task: echo },
      [{ field: 'tz', rule: 'matches' }],
    ],
    [
      'cron and every_ms',
      'POST',
      '/schedules',
      { name: 'x', cron: '* * * * *', every_ms: 1000, task: echo },
      [{ field: 'every_ms', rule: 'notWith' }],
    ],
    [
      'tz with every_ms',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, tz: 'UTC', task: echo },
      [{ field: 'tz', rule: 'notWith' }],
    ],
    [
      'every_ms under a second',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 999, task: echo },
      [{ field: 'every_ms', rule: 'min' }],
    ],
    [
      'an unknown task type',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, task: { task_type: 'nope', payload: 1 } },
      [{ field: 'task.task_type', rule: 'isRegisteredTaskType' }],
    ],
    [
      'a payload breaking its contract',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, task: { task_type: 'email', payload: { to: 'nobody' } } },
      [{ field: 'task.payload.to', rule: 'isEmail' }],
    ],
    [
      'delay_ms in the template',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, task: { ...echo, delay_ms: 5 } },
      [{ field: 'task.delay_ms', rule: 'unknownField' }],
    ],
    [
      'a priority out of range',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, task: { ...echo, priority: 101 } },
      [{ field: 'task.priority', rule: 'max' }],
    ],
    ['no task', 'POST', '/schedules', { name: 'x', every_ms: 1000 }, [{ field: 'task', rule: 'isPresent' }]],
    [
      'an unknown missed policy',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, task: echo, missed: 'later' },
      [{ field: 'missed', rule: 'isIn' }],
    ],
    [
      'catch_up_limit 0',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, task: echo, catch_up_limit: 0 },
      [{ field: 'catch_up_limit', rule: 'min' }],
    ],
    [
      'a name with ~',
      'POST',
      '/schedules',
      { name: 'a~b', every_ms: 1000, task: echo },
      [{ field: 'name', rule: 'matches' }],
    ],
    [
      'enabled null',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, task: echo, enabled: null },
      [{ field: 'enabled', rule: 'isBoolean' }],
    ],
    [
      'an unknown field',
      'POST',
      '/schedules',
      { name: 'x', every_ms: 1000, task: echo, colour: 'red' },
      [{ field: 'colour', rule: 'unknownField' }],
    ],
    [
      'a schedule_id as PUT name',
      'PUT',
      '/schedules/default~00000000-0000-0000-0000-000000000000',
      { every_ms: 1000, task: echo },
      [{ field: 'name', rule: 'matches' }],
    ],
    [
      'name in a PUT body',
      'PUT',
      '/schedules/x',
      { name: 'x', every_ms: 1000, task: echo },
      [{ field: 'name', rule: 'unknownField' }],
    ],
    [
      'an unknown query parameter',
      'GET',
      '/schedules?colour=red',
      undefined,
      [{ field: 'colour', rule: 'unknownField' }],
    ],
    [
      'a query parameter on one schedule',
      'GET',
      '/schedules/x?queue=default',
      undefined,
      [{ field: 'queue', rule: 'unknownField' }],
    ],
    ['a bad page size', 'GET', '/schedules?limit=101', undefined, [{ field: 'limit', rule: 'max' }]],
    ['a bad cursor', 'GET', '/schedules?cursor=a~b', undefined, [{ field: 'cursor', rule: 'matches' }]],
  ])('answers %s with 400 naming the field and rule, writing nothing', async (_what, method, url, body, errors) => {
    const before = await snapshotKeys(redis, prefix);
    const res = await send(method as 'POST', url, body);
    expect({
      status: res.status,
      errors: res.body.errors.map(({ field, rule }: { field: string; rule: string }) => ({ field, rule })),
    }).toEqual({
      status: 400,
      errors,
    });
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);
  });

  it('answers a PATCH of tz on an every_ms schedule with 400 tz, and a bad PATCH cron with 400 cron, changing nothing', async () => {
    await send('POST', '/schedules', { name: 'e', every_ms: 60_000, task: echo });
    const before = await snapshotKeys(redis, prefix);
    expect((await send('PATCH', '/schedules/e', { tz: 'UTC' })).body.errors).toEqual([
      { field: 'tz', rule: 'withCron', message: expect.stringContaining('every_ms') },
    ]);
    expect((await send('PATCH', '/schedules/e', { cron: 'often' })).body.errors).toEqual([
      { field: 'cron', rule: 'isCronExpression', message: expect.stringContaining('not a cron expression') },
    ]);
    expect(diffSnapshots(before, await snapshotKeys(redis, prefix))).toEqual([]);
  });

  it('never answers 5xx to 800 seeded random schedule requests, and a refused one changes no key', async () => {
    const rnd = prng(20261129);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)];
    const junk = () => pick([null, 0, -1, 1.5, '', 'x'.repeat(300), '~', '💥', [], {}, { a: 1 }, true, '__proto__']);
    const task = () =>
      pick([
        () => echo,
        () => ({ task_type: pick(['echo', 'email', 'nope', '', 5]), payload: pick(['a@b.co', { to: 'x' }, junk()]) }),
        () => ({ ...echo, [pick(['priority', 'queue', 'max_retries', 'timeout_ms', 'delay_ms', 'colour'])]: junk() }),
        junk,
      ])();
    /** Half of the bodies valid but for at most one field, so writes get through too. */
    const body = (withName: boolean) => {
      if (rnd() < 0.5) {
        const valid: Record<string, unknown> = {
          name: pick(['fuzz', 'fuzz-2']),
          ...(rnd() < 0.5 ? { cron: pick(['0 3 * * *', '*/7 * * * * *']) } : { every_ms: pick([60_000, 3_600_000]) }),
          task: pick([echo, { task_type: 'email', payload: 'a@b.co', queue: pick(['default', 'other']) }]),
        };
        if (rnd() < 0.3)
          valid[pick(['cron', 'every_ms', 'tz', 'task', 'enabled', 'missed', 'catch_up_limit'])] = junk();
        if (!withName || rnd() < 0.1) delete valid.name;
        return valid;
      }
      const out: Record<string, unknown> = {};
      const maybe = (field: string, value: () => unknown, p: number) => {
        if (rnd() < p) out[field] = value();
      };
      maybe('name', () => pick(['fuzz', 'fuzz-2', 'a~b', '', junk()]), 0.7);
      maybe('cron', () => pick(['* * * * *', '*/7 * * * * *', '61 * * * *', '0 0 30 2 *', '@daily', 'x', junk()]), 0.5);
      maybe('every_ms', () => pick([1000, 60_000, 999, 1e15, '1000', junk()]), 0.4);
      maybe('tz', () => pick(['UTC', 'Europe/Berlin', 'Mars/Base', 'a b', junk()]), 0.3);
      maybe('task', task, 0.85);
      maybe('enabled', () => pick([true, false, junk()]), 0.3);
      maybe('missed', () => pick(['skip', 'catch_up', junk()]), 0.3);
      maybe('catch_up_limit', () => pick([1, 1000, 0, 1001, junk()]), 0.3);
      if (rnd() < 0.05) out[pick(['colour', 'constructor', 'schedule_id'])] = junk();
      return out;
    };
    const key = () =>
      pick([
        'fuzz',
        'fuzz-2',
        'nowhere',
        'default~00000000-0000-0000-0000-000000000000',
        '~',
        '%2e%2e',
        'x'.repeat(200),
      ]);
    const statuses = new Map<number, number>();
    const bad: string[] = [];
    let before = await snapshotKeys(redis, prefix);
    for (let i = 0; i < 800; i++) {
      const [method, url] = pick([
        ['POST', '/schedules'],
        ['PUT', `/schedules/${key()}`],
        ['PATCH', `/schedules/${key()}`],
        ['GET', `/schedules/${key()}`],
        ['DELETE', `/schedules/${key()}`],
        ['GET', pick(['/schedules', '/schedules?limit=1'])],
      ] as const);
      const json = JSON.stringify(body(method === 'POST'));
      const payload =
        method === 'GET' || method === 'DELETE' ? undefined : pick([json, json, json, json.slice(0, 9), '']);
      const res = await app.inject({
        method,
        url,
        ...(payload === undefined
          ? {}
          : { payload, headers: { 'content-type': pick(['application/json', 'text/plain']) } }),
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const after = await snapshotKeys(redis, prefix);
      const what = `#${i} ${method} ${url} ${payload?.slice(0, 100)} → ${res.statusCode}`;
      if (res.statusCode >= 500) bad.push(`${what}: ${res.body.slice(0, 200)}`);
      if (res.statusCode >= 400 && diffSnapshots(before, after).length) bad.push(`${what} changed keys`);
      if (res.statusCode >= 400 && !res.json().message) bad.push(`${what} without a message`);
      before = after;
    }
    expect(bad).toEqual([]);
    // Not vacuous: writes got through, and so did every kind of refusal.
    for (const status of [200, 201, 204, 400, 404, 409, 415]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
  }, 180_000); // 800 requests, each with a key snapshot: minutes on a loaded 2-core machine

  /** Seeded schedule bodies through the fast check compiled from `doc` and through class-validator. */
  async function compare(doc: OpenAPIObject, dto: Type) {
    const rnd = prng(20261128);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)];
    // Per field: values that keep its rules, then values that break them.
    const values: Record<string, [readonly unknown[], readonly unknown[]]> = {
      name: [
        ['nightly', 'a.b:c-d_9', 'x'.repeat(128)],
        ['', 'a~b', 'x'.repeat(129), 5, null],
      ],
      cron: [
        ['0 3 * * *', '*/5 * * * * *', 'x'.repeat(256)],
        ['x'.repeat(257), 7, null],
      ],
      every_ms: [
        [1000, 60_000, 31_536_000_000],
        [999, 1.5, '1000', 31_536_000_001, null],
      ],
      tz: [
        ['UTC', 'Europe/Berlin', 'Etc/GMT+5'],
        ['bad zone', '', 3, null],
      ],
      task: [
        [echo, { ...echo, queue: 'q', priority: -100, max_retries: 0, timeout_ms: 1 }],
        [
          { ...echo, priority: 101 },
          { task_type: 'echo' },
          { ...echo, run_at: '2030-01-01T00:00:00Z' },
          [],
          'echo',
          null,
        ],
      ],
      enabled: [
        [true, false],
        ['true', null],
      ],
      missed: [
        ['skip', 'catch_up'],
        ['later', null],
      ],
      catch_up_limit: [
        [1, 1000],
        [0, 1001, 2.5, null],
      ],
      colour: [[], ['red']],
    };
    const presence: Record<string, number> = {
      // PUT and PATCH take no name (it is in the path): rarely, to see it refused.
      name: dto === CreateScheduleDto ? 0.95 : 0.03,
      cron: 0.55,
      every_ms: 0.45,
      tz: 0.3,
      task: 0.95,
      enabled: 0.3,
      missed: 0.3,
      catch_up_limit: 0.3,
      colour: 0.03,
    };
    const pipe = new ApiValidationPipe(scheduleBodyChecks(doc));
    const fast = scheduleBodyChecks(doc).get(dto)!.fast;
    const metadata: ArgumentMetadata = { type: 'body', metatype: dto, data: '' };
    const verdicts = { accepted: 0, refused: 0 };
    const disagreements: unknown[] = [];
    for (let i = 0; i < 3000; i++) {
      const body: Record<string, unknown> = {};
      for (const [field, p] of Object.entries(presence)) {
        if (rnd() >= p) continue;
        const [good, bad] = values[field];
        body[field] = pick(good.length && rnd() < 0.9 ? good : bad);
      }
      const quick = fast(structuredClone(body));
      const full = (await pipe.validateFully(structuredClone(body), metadata)).ok;
      if (quick !== full) disagreements.push({ body, fast: quick, full });
      verdicts[full ? 'accepted' : 'refused']++;
    }
    return { disagreements, verdicts };
  }

  /**
   * The fast check (ajv, compiled from the served document) and class-validator must give the
   * same verdict on every schedule body, as for submit bodies.
   */
  it.each([
    ['POST /schedules', CreateScheduleDto],
    ['PUT /schedules/{name}', PutScheduleDto],
    ['PATCH /schedules/{schedule}', PatchScheduleDto],
  ] as [string, Type][])('the OpenAPI schema and class-validator agree on %s bodies (seeded)', async (_route, dto) => {
    const { disagreements, verdicts } = await compare(document, dto);
    expect(disagreements.slice(0, 20)).toEqual([]);
    expect(verdicts.accepted).toBeGreaterThan(100);
    expect(verdicts.refused).toBeGreaterThan(100);
  });

  it('finds the drift when the document says something class-validator does not', async () => {
    const drifted = structuredClone(document) as OpenAPIObject & { components: { schemas: Record<string, any> } };
    delete drifted.components.schemas.CreateScheduleDto.allOf;
    const { disagreements } = await compare(drifted, CreateScheduleDto);
    expect(disagreements.length).toBeGreaterThan(0);
    expect(disagreements[0]).toMatchObject({ fast: true, full: false });
  });
});
