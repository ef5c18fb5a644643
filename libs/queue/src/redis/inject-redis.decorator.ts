import { Inject } from '@nestjs/common';
import { REDIS_CLIENT } from '../queue.constants';

/** The command connection, with the queue's Lua scripts defined on it (a `QueueRedis`). */
export const InjectRedis = () => Inject(REDIS_CLIENT);
