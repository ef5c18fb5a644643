import type { ConfigService } from '@nestjs/config';
import { SharedEnv } from './env';

/**
 * The queue library's options (libs/queue `QueueModuleOptions`, which this matches by shape: config
 * sits below the queue library and never imports it), from the validated environment.
 */
export function queueOptionsFrom(config: ConfigService<SharedEnv, true>, app: 'api' | 'worker') {
  const prefix = config.get('QUEUE_PREFIX', { infer: true });
  return {
    redisUrl: config.get('REDIS_URL', { infer: true }),
    prefix,
    leaseMs: config.get('TASK_LEASE_MS', { infer: true }),
    resultTtlSeconds: config.get('RESULT_TTL_SECONDS', { infer: true }),
    maxRecoveries: config.get('MAX_RECOVERIES', { infer: true }),
    maxQueues: config.get('MAX_QUEUES', { infer: true }),
    dlqMaxSize: config.get('DLQ_MAX_SIZE', { infer: true }),
    commandTimeoutMs: config.get('REDIS_COMMAND_TIMEOUT_MS', { infer: true }),
    // CLIENT LIST names each connection `<prefix>:<app>:<pid>:<role>`: which deployment, app and process.
    connectionName: `${prefix}:${app}:${process.pid}`,
  };
}
