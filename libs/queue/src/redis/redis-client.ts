import { Logger } from '@nestjs/common';
import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { QueueModuleOptions } from '../queue.options';

const logger = new Logger('Redis');

/** One node (or a Sentinel-found master) or a Redis Cluster: the commands every caller uses exist on both. */
export type RedisClient = Redis | Cluster;

/** Reconnect forever with a capped backoff: workers resume by themselves after an outage. */
const retryStrategy = (times: number) => Math.min(times * 100, 2000);

export type ConnectionRole = 'commands' | 'blocking';

/** The per-connection settings every mode shares. */
function nodeOptions(options: QueueModuleOptions, role: ConnectionRole): RedisOptions {
  return {
    connectionName: `${options.connectionName}:${role}`,
    // Fail fast while disconnected instead of queueing commands in memory: the API answers 503
    // and the worker's loop backs off; nothing accepted lives only in a process.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A blocking wait legitimately takes longer than any command timeout.
    commandTimeout: role === 'commands' ? options.commandTimeoutMs : undefined,
    retryStrategy,
    // After a restart Redis answers LOADING while it reads its AOF; look again every second instead
    // of waiting out its (up to 10 s) estimate, so apps resume as soon as the data is back.
    maxLoadingRetryTime: 1000,
    lazyConnect: role === 'blocking',
    enableAutoPipelining: role === 'commands' && options.autoPipelining === true,
    // No CLIENT SETINFO (Redis 7.2+): one command less for the ACL of deploy/k8s/base/redis-start.sh.
    disableClientInfo: true,
  };
}

/**
 * A connection for `role` in the configured mode. Claims and every read that decides a transition
 * go to masters only: a Cluster client reads from masters (`scaleReads: 'master'`), a Sentinel
 * client follows the current master (`role: 'master'`).
 */
export function createRedisClient(options: QueueModuleOptions, role: ConnectionRole): RedisClient {
  const base = nodeOptions(options, role);
  const redis = options.redis;
  switch (redis.mode) {
    case 'standalone':
      // Credentials given apart from the URL win over none in it; a URL's own are kept otherwise.
      return new Redis(redis.url, {
        ...base,
        ...(redis.username ? { username: redis.username } : {}),
        ...(redis.password ? { password: redis.password } : {}),
      });
    case 'sentinel':
      return new Redis({
        ...base,
        sentinels: redis.sentinels,
        name: redis.name,
        role: 'master',
        username: redis.username,
        password: redis.password,
        sentinelPassword: redis.sentinelPassword,
        tls: redis.tls ? {} : undefined,
        sentinelTLS: redis.tls ? {} : undefined,
        enableTLSForSentinelMode: redis.tls,
        sentinelRetryStrategy: retryStrategy,
      });
    case 'cluster': {
      const { retryStrategy: _unused, enableOfflineQueue, lazyConnect, enableAutoPipelining, ...perNode } = base;
      const clusterOptions: ClusterOptions = {
        enableOfflineQueue,
        lazyConnect,
        enableAutoPipelining,
        scaleReads: 'master',
        natMap: redis.natMap,
        clusterRetryStrategy: retryStrategy,
        // MOVED/ASK are followed at once; TRYAGAIN (resharding), CLUSTERDOWN and a lost node
        // (failover) are retried after these delays, at most maxRedirections times (bounded).
        retryDelayOnTryAgain: 100,
        retryDelayOnClusterDown: 200,
        retryDelayOnFailover: 200,
        maxRedirections: 16,
        slotsRefreshTimeout: Math.max(1000, options.commandTimeoutMs),
        redisOptions: {
          ...perNode,
          username: redis.username,
          password: redis.password,
          tls: redis.tls ? {} : undefined,
        },
      };
      return new Cluster(redis.nodes, clusterOptions);
    }
  }
}

/** Logs a lost connection once and its return once, instead of one line per reconnect attempt. */
export function watchConnection<T extends RedisClient>(client: T, name: string): T {
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) logger.warn({ msg: `Redis ${name} connection error: ${error.message}; retrying` });
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.log({ msg: `Redis ${name} connection restored` });
    down = false;
  });
  return client;
}
