import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { redisCall } from '../errors/queue-error';
import { queueChannels } from '../keys/queue-keys';
import { QUEUE_OPTIONS } from '../queue.module-definition';
import { QueueModuleOptions } from '../queue.options';
import { createRedisClient, RedisClient, watchConnection } from '../redis/redis-client';

type Listener = (message: string) => void;

/**
 * The queue's pub/sub side, on one subscriber connection per process, opened on first use (the
 * api's waiters, the worker's cancel listener). A Redis Cluster delivers a PUBLISH made on any node
 * to every node's subscribers. The client re-subscribes by itself after a reconnect; a message sent
 * while disconnected is lost, so every listener has a fallback (a waiter's deadline, the heartbeat).
 */
@Injectable()
export class QueueEvents implements OnApplicationShutdown {
  private readonly logger = new Logger(QueueEvents.name);
  private subscriber?: RedisClient;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly subscribed = new Map<string, Promise<void>>();

  constructor(@Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions) {}

  /** This deployment's channels (see queueChannels). */
  get channels(): ReturnType<typeof queueChannels> {
    return queueChannels(this.options.prefix);
  }

  /** Calls `listener` with every message on `channel` until the returned function is called. */
  async subscribe(channel: string, listener: Listener): Promise<() => void> {
    let listeners = this.listeners.get(channel);
    if (!listeners) this.listeners.set(channel, (listeners = new Set()));
    listeners.add(listener);
    try {
      await this.ensureSubscribed(channel);
    } catch (error) {
      listeners.delete(listener);
      throw error;
    }
    return () => listeners.delete(listener);
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  private ensureSubscribed(channel: string): Promise<void> {
    let done = this.subscribed.get(channel);
    if (!done) {
      const subscriber = this.connection();
      done = redisCall('subscribe', async () => {
        if (subscriber.status === 'wait') await subscriber.connect();
        await subscriber.subscribe(channel);
      }).catch((error: unknown) => {
        this.subscribed.delete(channel);
        throw error;
      });
      this.subscribed.set(channel, done);
    }
    return done;
  }

  private connection(): RedisClient {
    if (!this.subscriber) {
      this.subscriber = watchConnection(createRedisClient(this.options, 'blocking'), 'subscriber');
      this.subscriber.on('message', (channel: string, message: string) => {
        for (const listener of this.listeners.get(channel) ?? []) {
          try {
            listener(message);
          } catch (error) {
            this.logger.warn({ msg: `listener on ${channel} failed: ${(error as Error).message}` });
          }
        }
      });
    }
    return this.subscriber;
  }
}
