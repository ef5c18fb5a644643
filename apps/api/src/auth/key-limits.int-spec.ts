import { ArgumentMetadata } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { LIMIT_BOUNDS, LimitShapeError, quotaFromWire, rateLimitFromWire } from '@app/auth';
import { validateEnv } from '@app/config';
import { inProcessApiEnv, uniquePrefix } from '@app/testing';
import { prng } from '../../../../test/faults/harness';
import { ApiEnv } from '../config/api.env';
import { ApiValidationPipe } from '../validation/api-validation.pipe';
import { openApiSchemaCompiler } from '../validation/openapi-schemas';
import { CreateApiKeyDto, UpdateApiKeyDto } from './dto/api-key.dto';

jest.setTimeout(60_000);

/** Generated limit values, most of them at a bound's edge. */
function limitValues(rnd: () => number) {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)];
  const int = ({ min, max }: { min: number; max: number }): unknown =>
    rnd() < 0.85
      ? pick([min, max, min - 1, max + 1, min + 1, max - 1, Math.floor((min + max) / 2)])
      : pick([min + 0.5, String(min), null, true, [min], -0, 1e21]);
  const maybe = (field: string, value: () => unknown) => (rnd() < 0.9 ? { [field]: value() } : {});
  const rate = (): unknown =>
    rnd() < 0.85
      ? {
          ...maybe('max', () => int(LIMIT_BOUNDS.rateMax)),
          ...maybe('per_ms', () => int(LIMIT_BOUNDS.ratePerMs)),
          ...(rnd() < 0.05 ? { burst: 1 } : {}),
        }
      : pick([null, '500/1s', [], 5]);
  const quota = (): unknown =>
    rnd() < 0.85
      ? {
          ...maybe('tasks', () => int(LIMIT_BOUNDS.quotaTasks)),
          ...maybe('payload_bytes', () => int(LIMIT_BOUNDS.quotaPayloadBytes)),
          ...maybe('per_seconds', () => int(LIMIT_BOUNDS.quotaPerSeconds)),
          ...(rnd() < 0.05 ? { window: 1 } : {}),
        }
      : pick([null, 'default', {}, 60]);
  return { rate, quota };
}

/** Whether libs/auth's reader of the wire form (JWT claims, `npm run keys`) takes the value. */
function wireAccepts(read: () => unknown): boolean {
  try {
    read();
    return true;
  } catch (error) {
    if (error instanceof LimitShapeError) return false;
    throw error;
  }
}

/**
 * A key's limits are checked in three places: the OpenAPI document (what clients are told), the
 * api's class-validator DTOs (what POST and PATCH /auth/keys enforce), and libs/auth's reader of
 * JWT claims and `npm run keys` flags. They must give the same verdict on every value.
 */
describe('API key limits: the OpenAPI schema, class-validator and the JWT claim reader agree', () => {
  const saved = { ...process.env };
  let app: NestFastifyApplication;
  let document: OpenAPIObject;

  beforeAll(async () => {
    Object.assign(process.env, inProcessApiEnv(uniquePrefix('key-limits')));
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

  it.each([
    ['POST /auth/keys', CreateApiKeyDto, { name: 'k', scopes: ['read'] }],
    ['PATCH /auth/keys/{id}', UpdateApiKeyDto, {}],
  ] as const)('agree on generated rate_limit and quota values of %s (seeded)', async (_route, dto, base) => {
    const schema = openApiSchemaCompiler(document)(dto.name);
    const pipe = new ApiValidationPipe(new Map());
    const metadata: ArgumentMetadata = { type: 'body', metatype: dto, data: '' };
    const values = limitValues(prng(20261129));
    const disagreements: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const [rate, quota] = [values.rate(), values.quota()];
      const body = { ...base, rate_limit: rate, quota };
      const verdicts = {
        schema: schema(structuredClone(body)),
        dto: (await pipe.validateFully(structuredClone(body), metadata)).ok,
        wire:
          wireAccepts(() => rateLimitFromWire(rate, 'rate_limit')) && wireAccepts(() => quotaFromWire(quota, 'quota')),
      };
      if (new Set(Object.values(verdicts)).size > 1)
        disagreements.push(`${JSON.stringify(body)} ${JSON.stringify(verdicts)}`);
      if (verdicts.dto) accepted++;
    }
    expect(disagreements.slice(0, 20)).toEqual([]);
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(2900);
  });

  it('names the field and the rule of a refused limit', async () => {
    const pipe = new ApiValidationPipe(new Map());
    const metadata: ArgumentMetadata = { type: 'body', metatype: CreateApiKeyDto, data: '' };
    const errors = async (limits: Record<string, unknown>) => {
      const verdict = await pipe.validateFully({ name: 'k', scopes: ['read'], ...limits }, metadata);
      return verdict.ok ? [] : verdict.errors.map(({ field, rule }) => `${field} ${rule}`);
    };
    expect(await errors({ rate_limit: { max: 0, per_ms: 1000 } })).toEqual(['rate_limit.max min']);
    expect(await errors({ rate_limit: { max: 5, per_ms: 10 } })).toEqual(['rate_limit.per_ms min']);
    expect(await errors({ rate_limit: { max: 5 } })).toEqual(['rate_limit.per_ms isPresent']);
    expect(await errors({ quota: { per_seconds: 60 } })).toEqual(['quota.tasks isPresent']);
    expect(await errors({ quota: { tasks: 5, per_seconds: 0 } })).toEqual(['quota.per_seconds min']);
    expect(await errors({ quota: { tasks: 5, per_seconds: 60, window: 1 } })).toEqual(['quota.window unknownField']);
    expect(await errors({ quota: { payload_bytes: 2 ** 41, per_seconds: 60 } })).toEqual(['quota.payload_bytes max']);
  });
});
