import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { redisCall } from './errors/queue-error';
import { queueKeys, queueRegistryKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { EnqueuedTask, NewTask } from './task';

const FIELDS_PER_TASK = 7;

/** Adds tasks. One atomic script call per queue touched; a batch is one round trip. */
@Injectable()
export class QueueProducer {
  /** Queues already recorded in the registry set by this process. */
  private readonly knownQueues = new Set<string>();

  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  async enqueue(task: NewTask): Promise<EnqueuedTask> {
    const [one] = await this.enqueueMany([task]);
    return one;
  }

  /** All tasks are written, or none are (per queue; one script call per queue). */
  async enqueueMany(tasks: NewTask[]): Promise<EnqueuedTask[]> {
    const byQueue = new Map<string, (string | number)[]>();
    const result: EnqueuedTask[] = tasks.map((task) => {
      const id = `${task.queue}.${randomUUID()}`;
      let args = byQueue.get(task.queue);
      if (!args) byQueue.set(task.queue, (args = []));
      args.push(
        id,
        task.type,
        JSON.stringify(task.payload ?? null),
        task.priority,
        task.maxRetries,
        task.timeoutMs,
        encodeDelay(task),
      );
      const scheduled = (task.delayMs ?? 0) > 0 || (task.runAt !== undefined && task.runAt > Date.now());
      return { id, queue: task.queue, status: scheduled ? 'scheduled' : 'queued' };
    });

    await redisCall('enqueue', async () => {
      const pipeline = this.redis.pipeline();
      const newQueues = [...byQueue.keys()].filter((queue) => !this.knownQueues.has(queue));
      if (newQueues.length) pipeline.sadd(queueRegistryKey(this.options.prefix), ...newQueues);
      for (const [queue, args] of byQueue) {
        const keys = queueKeys(this.options.prefix, queue);
        (pipeline as unknown as QueueRedis).taskqEnqueueTasks(
          keys.queued,
          keys.scheduled,
          keys.seq,
          keys.wake,
          keys.taskPrefix,
          args.length / FIELDS_PER_TASK,
          ...args,
        );
      }
      const replies = (await pipeline.exec()) ?? [];
      const failed = replies.find(([error]) => error);
      if (failed) throw failed[0];
      newQueues.forEach((queue) => this.knownQueues.add(queue));
    });
    return result;
  }
}

/** The script's delay argument: ms from now (> 0), 0 for now, or -epochMs for an absolute run_at. */
function encodeDelay(task: NewTask): number {
  if (task.runAt !== undefined) return -Math.max(1, Math.floor(task.runAt));
  return Math.max(0, Math.floor(task.delayMs ?? 0));
}
