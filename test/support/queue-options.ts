import type { QueueModuleOptions } from '@app/queue';
import { testRedisConnection } from './redis';

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
