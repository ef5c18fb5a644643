import type { ConfigService } from '@nestjs/config';
import { SharedEnv } from './env';

type Env = ConfigService<SharedEnv, true>;

const addresses = (list: string) =>
  list
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf(':');
      return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
    });

const orUndefined = (value: string) => (value === '' ? undefined : value);

/** Where Redis is (libs/queue `RedisConnection`, matched by shape): a node, a cluster or a Sentinel group. */
export function redisConnectionFrom(config: Env) {
  const credentials = {
    username: orUndefined(config.get('REDIS_USERNAME', { infer: true })),
    password: orUndefined(config.get('REDIS_PASSWORD', { infer: true })),
    tls: config.get('REDIS_TLS', { infer: true }),
  };
  const clusterNodes = config.get('REDIS_CLUSTER_NODES', { infer: true });
  if (clusterNodes) {
    const natMap = config.get('REDIS_CLUSTER_NAT_MAP', { infer: true });
    return {
      mode: 'cluster' as const,
      nodes: addresses(clusterNodes),
      natMap: natMap
        ? Object.fromEntries(
            natMap.split(',').map((pair) => {
              const [announced, reachable] = pair.split('=');
              return [announced, addresses(reachable)[0]];
            }),
          )
        : undefined,
      ...credentials,
    };
  }
  const sentinels = config.get('REDIS_SENTINELS', { infer: true });
  if (sentinels) {
    return {
      mode: 'sentinel' as const,
      sentinels: addresses(sentinels),
      name: config.get('REDIS_SENTINEL_NAME', { infer: true }),
      sentinelPassword: orUndefined(config.get('REDIS_SENTINEL_PASSWORD', { infer: true })),
      ...credentials,
    };
  }
  // REDIS_USERNAME/REDIS_PASSWORD apply to one node too, so the password need not sit in a URL.
  return {
    mode: 'standalone' as const,
    url: config.get('REDIS_URL', { infer: true }),
    username: credentials.username,
    password: credentials.password,
  };
}

/**
 * The queue library's options (libs/queue `QueueModuleOptions`, which this matches by shape: config
 * sits below the queue library and never imports it), from the validated environment.
 */
export function queueOptionsFrom(config: Env, app: 'api' | 'worker') {
  const prefix = config.get('QUEUE_PREFIX', { infer: true });
  return {
    redis: redisConnectionFrom(config),
    prefix,
    leaseMs: config.get('TASK_LEASE_MS', { infer: true }),
    resultTtlSeconds: config.get('RESULT_TTL_SECONDS', { infer: true }),
    resultsBackend: config.get('RESULTS_BACKEND', { infer: true }),
    maxRecoveries: config.get('MAX_RECOVERIES', { infer: true }),
    maxQueues: config.get('MAX_QUEUES', { infer: true }),
    dlqMaxSize: config.get('DLQ_MAX_SIZE', { infer: true }),
    commandTimeoutMs: config.get('REDIS_COMMAND_TIMEOUT_MS', { infer: true }),
    waitReplicas: config.get('REDIS_WAIT_REPLICAS', { infer: true }),
    waitTimeoutMs: config.get('REDIS_WAIT_TIMEOUT_MS', { infer: true }),
    idempotencyTtlSeconds: config.get('IDEMPOTENCY_TTL_SECONDS', { infer: true }),
    unservedAfterMs: config.get('QUEUE_UNSERVED_AFTER_MS', { infer: true }),
    // CLIENT LIST names each connection `<prefix>:<app>:<pid>:<role>`: which deployment, app and process.
    connectionName: `${prefix}:${app}:${process.pid}`,
    autoPipelining: app === 'api',
  };
}

/**
 * The result store's options (libs/results `ResultsModuleOptions`, matched by shape), from the
 * validated environment. The worker's archiver and the api's readers need few connections each.
 */
export function resultsOptionsFrom(config: Env, app: 'api' | 'worker') {
  return {
    backend: config.get('RESULTS_BACKEND', { infer: true }),
    databaseUrl: config.get('DATABASE_URL', { infer: true }),
    databasePassword: config.get('DATABASE_PASSWORD', { infer: true }) || undefined,
    poolMax: app === 'api' ? 10 : 4,
    statementTimeoutMs: 10_000,
    applicationName: `${config.get('QUEUE_PREFIX', { infer: true })}:${app}:${process.pid}`,
  };
}
