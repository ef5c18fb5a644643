import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { redisCall } from './errors/queue-error';
import { queueKeys, queueRegistryKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { EnqueuedTask, NewTask } from './task';
import { TickBatch } from './tick-batch';

const FIELDS_PER_TASK = 7;

interface PendingWrite {
  byQueue: Map<string, (string | number)[]>;
  newQueues: string[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Adds tasks. One atomic script call per queue touched by a call; a batch is one round trip.
 * Calls made in the same tick (concurrent HTTP requests) share one pipeline, so one socket write and
 * one round trip carry them all, while each call keeps its own script calls and its own outcome.
 */
@Injectable()
export class QueueProducer {
  /** Queues already recorded in the registry set by this process. */
  private readonly knownQueues = new Set<string>();
  /** Enqueue calls of this tick, sent in one pipeline. */
  private readonly writes = new TickBatch<PendingWrite>((writes) =>
    this.flush(writes).catch((error: unknown) => writes.forEach((write) => write.reject(error))),
  );

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

    const newQueues = [...byQueue.keys()].filter((queue) => !this.knownQueues.has(queue));
    await redisCall('enqueue', () => this.write(byQueue, newQueues));
    newQueues.forEach((queue) => this.knownQueues.add(queue));
    return result;
  }

  private write(byQueue: Map<string, (string | number)[]>, newQueues: string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => this.writes.add({ byQueue, newQueues, resolve, reject }));
  }

  /** Sends the calls of one tick in one pipeline and settles each call from its own replies. */
  private async flush(writes: PendingWrite[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    const ranges: [number, number][] = [];
    let count = 0;
    for (const { byQueue, newQueues } of writes) {
      const first = count;
      if (newQueues.length) {
        pipeline.sadd(queueRegistryKey(this.options.prefix), ...newQueues);
        count++;
      }
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
        count++;
      }
      ranges.push([first, count]);
    }
    const replies = (await pipeline.exec()) ?? [];
    writes.forEach((write, i) => {
      const failed = replies.slice(ranges[i][0], ranges[i][1]).find(([error]) => error);
      if (failed) write.reject(failed[0]);
      else write.resolve();
    });
  }
}

/** The script's delay argument: ms from now (> 0), 0 for now, or -epochMs for an absolute run_at. */
function encodeDelay(task: NewTask): number {
  if (task.runAt !== undefined) return -Math.max(1, Math.floor(task.runAt));
  return Math.max(0, Math.floor(task.delayMs ?? 0));
}
