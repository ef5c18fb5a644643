import { Logger, Provider } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { QUEUE_OPTIONS } from '../queue.module-definition';
import { QueueModuleOptions } from '../queue.options';
import { REDIS_BLOCKING_CLIENT, REDIS_CLIENT } from '../queue.constants';
import { defineScripts } from '../scripts/script-loader';

const logger = new Logger('Redis');

/** Reconnect forever with a capped backoff: workers resume by themselves after an outage. */
const retryStrategy = (times: number) => Math.min(times * 100, 2000);

export function redisOptions(options: QueueModuleOptions, role: 'commands' | 'blocking'): RedisOptions {
  return {
    connectionName: `${options.connectionName}:${role}`,
    // Fail fast while disconnected instead of queueing commands in memory: the API answers 503
    // and the worker's loop backs off; nothing accepted lives only in a process.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A blocking wait legitimately takes longer than any command timeout.
    commandTimeout: role === 'commands' ? options.commandTimeoutMs : undefined,
    retryStrategy,
    lazyConnect: role === 'blocking',
  };
}

function watch(client: Redis, name: string): Redis {
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

export const redisProviders: Provider[] = [
  {
    provide: REDIS_CLIENT,
    inject: [QUEUE_OPTIONS],
    useFactory: (options: QueueModuleOptions) =>
      defineScripts(watch(new Redis(options.redisUrl, redisOptions(options, 'commands')), 'command')),
  },
  {
    provide: REDIS_BLOCKING_CLIENT,
    inject: [QUEUE_OPTIONS],
    useFactory: (options: QueueModuleOptions) =>
      watch(new Redis(options.redisUrl, redisOptions(options, 'blocking')), 'blocking'),
  },
];
