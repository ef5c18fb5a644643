import type { ConfigService } from '@nestjs/config';
import type { QueueModuleOptions } from '@app/queue';
import { SharedEnv } from './env';

/** The queue library's options from the validated environment (ConfigModule's `validate`). */
export function queueOptionsFrom(config: ConfigService<SharedEnv, true>, connectionName: string): QueueModuleOptions {
  return {
    redisUrl: config.get('REDIS_URL', { infer: true }),
    prefix: config.get('QUEUE_PREFIX', { infer: true }),
    leaseMs: config.get('TASK_LEASE_MS', { infer: true }),
    resultTtlSeconds: config.get('RESULT_TTL_SECONDS', { infer: true }),
    maxRecoveries: config.get('MAX_RECOVERIES', { infer: true }),
    dlqMaxSize: config.get('DLQ_MAX_SIZE', { infer: true }),
    commandTimeoutMs: config.get('REDIS_COMMAND_TIMEOUT_MS', { infer: true }),
    connectionName,
  };
}
