import { Provider } from '@nestjs/common';
import { QUEUE_OPTIONS } from '../queue.module-definition';
import { QueueModuleOptions } from '../queue.options';
import { REDIS_CLIENT } from '../queue.constants';
import { defineScripts } from '../scripts/script-loader';
import { createRedisClient, watchConnection } from './redis-client';
import { WakeListener } from './wake-listener';

export const redisProviders: Provider[] = [
  {
    provide: REDIS_CLIENT,
    inject: [QUEUE_OPTIONS],
    useFactory: (options: QueueModuleOptions) =>
      defineScripts(watchConnection(createRedisClient(options, 'commands'), 'command')),
  },
  {
    provide: WakeListener,
    inject: [QUEUE_OPTIONS],
    useFactory: (options: QueueModuleOptions) => new WakeListener(options),
  },
];
