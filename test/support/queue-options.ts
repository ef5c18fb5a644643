import type { QueueModuleOptions } from '@app/queue';
import { redisAppEnv, testRedisConnection } from './redis';

/** QueueModule options for an integration test on the test Redis (in its TEST_REDIS_MODE), under its own prefix. */
export function testQueueOptions(prefix: string, overrides: Partial<QueueModuleOptions> = {}): QueueModuleOptions {
  return {
    redis: testRedisConnection(),
    prefix,
    leaseMs: 30_000,
    resultTtlSeconds: 3600,
    maxRecoveries: 2,
    maxQueues: 0,
    dlqMaxSize: 0,
    commandTimeoutMs: 2000,
    connectionName: 'int-test',
    ...overrides,
  };
}

/**
 * process.env for an api built in process (createApiApp) on the test Redis, under `prefix`: the
 * suite's topology, no logs, and no authentication or rate limit (nothing listens; access control
 * has its own suite, test/e2e/auth.e2e-spec.ts).
 */
export function inProcessApiEnv(prefix: string): Record<string, string> {
  return {
    REDIS_URL: '',
    ...redisAppEnv(testRedisConnection()),
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    AUTH_MODE: 'none',
    HOST: '127.0.0.1',
    RATE_LIMIT_MAX: '0',
  };
}
