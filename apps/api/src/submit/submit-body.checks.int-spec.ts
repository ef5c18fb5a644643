import { ArgumentMetadata, Type } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { validateEnv } from '@app/config';
import { inProcessApiEnv, uniquePrefix } from '@app/testing';
import { prng } from '../../../../test/faults/harness';
import { ApiEnv } from '../config/api.env';
import { ApiValidationPipe, BodyCheck } from '../validation/api-validation.pipe';
import { SubmitBatchDto } from './dto/submit-batch.dto';
import { SubmitTaskDto } from './dto/submit-task.dto';
import { submitBodyChecks } from './submit-body.checks';

const MAX_BATCH_SIZE = 5;

/** Generated submit bodies, most of them near a rule's edge. */
class Bodies {
  constructor(private readonly rnd: () => number) {}

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.rnd() * values.length)];
  }

  private chance(p: number): boolean {
    return this.rnd() < p;
  }

  any(depth = 0): unknown {
    const kinds = depth > 2 ? 5 : 7;
    switch (Math.floor(this.rnd() * kinds)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, 1, -1, 1.5, -0.5, 1e-7, 2 ** 53, -(2 ** 60), 101, -101, 1e12]);
      case 3:
        return this.pick(['', 'echo', 'default', 'Bad{Queue}', 'x'.repeat(200), '5', '2030-01-01T09:00:00Z']);
      case 4:
        return this.pick([[], {}, [1, 'a'], { a: 1 }]);
      case 5:
        return Array.from({ length: Math.floor(this.rnd() * 3) }, () => this.any(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: Math.floor(this.rnd() * 3) }, (_, i) => [`k${i}`, this.any(depth + 1)]),
        );
    }
  }

  private int(min: number, max: number): unknown {
    return this.chance(0.8)
      ? this.pick([min, max, min - 1, max + 1, Math.floor((min + max) / 2), min + 1, max - 1])
      : this.pick([min + 0.5, String(min), null, true, [min], { n: min }, -0, 1e21, this.any()]);
  }

  private taskType(): unknown {
    return this.chance(0.8)
      ? this.pick(['echo', 'email', 'a', 'A.b:c-d_9', 'x'.repeat(128), 'x'.repeat(129), '', 'has space', 'é', 'a/b'])
      : this.any();
  }

  private queueName(): unknown {
    return this.chance(0.8)
      ? this.pick(['default', 'q_1-x', 'q'.repeat(64), 'q'.repeat(65), '', 'Default', 'a.b', 'a{b}', ' q'])
      : this.any();
  }

  private runAt(): unknown {
    return this.chance(0.85)
      ? this.pick([
          '2030-01-01T09:00:00Z',
          '2030-01-01T09:00:00.123456789+05:30',
          '2030-01-01T09:00:00.1-00:00',
          '2032-02-29T00:00:00Z',
          '2031-02-29T00:00:00Z',
          '2030-04-31T00:00:00Z',
          '2030-13-01T00:00:00Z',
          '2030-01-01T24:00:00Z',
          '2030-12-31T23:59:60Z',
          '2030-01-01T09:00:00',
          '2030-01-01t09:00:00z',
          '2030-01-01 09:00:00Z',
          '2030-01-01T09:00:00+0100',
          '2030-01-01T09:00:00+01',
          '2030-01-01T09:00:00+24:00',
          '2030-01-01T09:00:00.1234567890Z',
          '2030-W01-1',
          '2030-01-01',
          'tomorrow',
          '',
        ])
      : this.any();
  }

  private callerKey(): unknown {
    return this.chance(0.9)
      ? this.pick([
          'k',
          'invoice-1234',
          'a/b+c=d:e.f_g-h',
          'x'.repeat(255),
          'x'.repeat(256),
          '',
          'has space',
          'é',
          '{t}',
        ])
      : this.any();
  }

  private backoff(): unknown {
    if (this.chance(0.5)) return this.pick([{ delays_ms: [1000, 5000] }, { type: 'fixed', base_ms: 600_000 }]);
    if (this.chance(0.1)) return this.any();
    const backoff: Record<string, unknown> = {};
    if (this.chance(0.4)) {
      if (this.chance(0.9)) {
        backoff.delays_ms = this.chance(0.85)
          ? Array.from({ length: this.pick([0, 1, 2, 3, 100, 101]) }, () => this.int(0, 604_800_000))
          : this.any();
      }
      if (this.chance(0.1)) backoff[this.pick(['type', 'base_ms', 'jitter', 'other'])] = 1;
      return backoff;
    }
    if (this.chance(0.9))
      backoff.type = this.chance(0.85) ? this.pick(['fixed', 'exponential', 'linear', '']) : this.any();
    if (this.chance(0.9)) backoff.base_ms = this.int(1, 86_400_000);
    if (this.chance(0.4)) backoff.max_ms = this.int(1, 604_800_000);
    if (this.chance(0.4)) backoff.jitter = this.chance(0.8) ? this.pick([true, false]) : this.any();
    if (this.chance(0.05)) backoff[this.pick(['delays_ms', 'other'])] = [1];
    return backoff;
  }

  task(): unknown {
    if (this.chance(0.03)) return this.any();
    const task: Record<string, unknown> = {};
    const field = (name: string, value: () => unknown, present: number) => {
      if (this.chance(present)) task[name] = value();
    };
    field('task_type', () => this.taskType(), 0.93);
    field('payload', () => this.any(), 0.93);
    field('queue', () => this.queueName(), 0.4);
    field('priority', () => this.int(-100, 100), 0.4);
    field('max_retries', () => this.int(0, 100), 0.3);
    field('delay_ms', () => this.int(0, 31_536_000_000), 0.25);
    field('run_at', () => this.runAt(), 0.25);
    field('timeout_ms', () => this.int(1, 86_400_000), 0.3);
    // The newer fields are mostly valid, so the bodies keep plenty of both verdicts.
    field('unique_for_ms', () => (this.chance(0.6) ? 60_000 : this.int(1, 604_800_000)), 0.1);
    // Mostly with unique_for_ms, which it needs; sometimes without.
    field('unique_key', () => this.callerKey(), 'unique_for_ms' in task ? 0.5 : 0.02);
    field('backoff', () => this.backoff(), 0.1);
    if (this.chance(0.05)) task[this.pick(['colour', 'taskType', '__x', 'constructor'])] = this.any();
    return task;
  }

  batch(): unknown {
    if (this.chance(0.03)) return this.any();
    const body: Record<string, unknown> = {};
    if (this.chance(0.95)) {
      body.tasks = this.chance(0.05)
        ? this.any()
        : Array.from({ length: Math.floor(this.rnd() * (MAX_BATCH_SIZE + 3)) }, () =>
            // Mostly valid tasks, so one bad one decides.
            this.chance(0.8) ? { task_type: 'echo', payload: this.any() } : this.task(),
          );
    }
    if (this.chance(0.05)) body.extra = 1;
    return body;
  }
}

interface Tally {
  accepted: number;
  refused: number;
  disagreements: { body: string; fast: boolean; full: boolean }[];
}

/** Runs `count` generated bodies through the fast check and the full validation, and tallies. */
async function compare(
  checks: Map<Type, BodyCheck>,
  dto: Type,
  generate: () => unknown,
  count: number,
): Promise<Tally> {
  const pipe = new ApiValidationPipe(checks);
  const metadata: ArgumentMetadata = { type: 'body', metatype: dto, data: '' };
  const tally: Tally = { accepted: 0, refused: 0, disagreements: [] };
  for (let i = 0; i < count; i++) {
    const body = generate();
    const fast = checks.get(dto)!.fast(structuredClone(body));
    const full = (await pipe.validateFully(structuredClone(body), metadata)).ok;
    if (fast !== full) tally.disagreements.push({ body: JSON.stringify(body), fast, full });
    if (full) tally.accepted++;
    else tally.refused++;
  }
  return tally;
}

/**
 * The submit bodies' fast check (ajv, compiled from the served OpenAPI document) and the full
 * validation (class-validator, plus the boot-time batch limit) must give the same verdict on every
 * body: otherwise the document and the api have drifted apart.
 */
describe('submit body checks: the OpenAPI schema and class-validator agree', () => {
  const saved = { ...process.env };
  let app: NestFastifyApplication;
  let document: OpenAPIObject;

  beforeAll(async () => {
    Object.assign(process.env, {
      ...inProcessApiEnv(uniquePrefix('api-checks')),
      MAX_BATCH_SIZE: String(MAX_BATCH_SIZE),
    });
    // Imported now: ConfigModule.forRoot in ApiModule reads process.env when the module is loaded.
    const { createApiApp } = await import('../configure-api');
    app = await createApiApp(validateEnv(ApiEnv)(process.env), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    document = (await app.inject({ method: 'GET', url: '/docs-json' })).json();
  });

  afterAll(async () => {
    await app.close();
    process.env = saved;
  });

  const SEED = 20261128;

  it.each([
    ['POST /submit', SubmitTaskDto, (b: Bodies) => b.task(), 4000],
    ['POST /submit/batch', SubmitBatchDto, (b: Bodies) => b.batch(), 1500],
  ] as const)('agree on %s bodies (seeded)', async (_route, dto, generate, count) => {
    const bodies = new Bodies(prng(SEED));
    const tally = await compare(
      submitBodyChecks(document, { maxBatchSize: MAX_BATCH_SIZE }),
      dto,
      () => generate(bodies),
      count,
    );
    expect(tally.disagreements.slice(0, 40)).toEqual([]);
    // Not vacuous: plenty of both verdicts (each optional field a body may break makes fewer bodies valid).
    expect(tally.accepted).toBeGreaterThan(count / 20);
    expect(tally.refused).toBeGreaterThan(count / 20);
  });

  it('finds the drift when the document says something class-validator does not', async () => {
    const drifted = structuredClone(document) as any;
    drifted.components.schemas.SubmitTaskDto.properties.priority.maximum = 101;
    const bodies = new Bodies(prng(SEED));
    const tally = await compare(
      submitBodyChecks(drifted, { maxBatchSize: MAX_BATCH_SIZE }),
      SubmitTaskDto,
      () => bodies.task(),
      4000,
    );
    expect(tally.disagreements.length).toBeGreaterThan(0);
    expect(tally.disagreements[0]).toMatchObject({
      fast: true,
      full: false,
      body: expect.stringContaining('"priority":101'),
    });
  });
});
