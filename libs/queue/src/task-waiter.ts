import { Inject, Injectable } from '@nestjs/common';
import { errorForScriptCode, redisCall, SCRIPT_CODE } from './errors/queue-error';
import { QueueEvents } from './events/queue-events';
import { queueChannels, taskKey } from './keys/queue-keys';
import { QUEUE_OPTIONS } from './queue.module-definition';
import { QueueModuleOptions } from './queue.options';
import { InjectRedis } from './redis/inject-redis.decorator';
import { QueueRedis } from './scripts/script-loader';
import { watchTask } from './scripts/task-scripts';

/**
 * Waits for tasks to finish (`GET /tasks/{id}?wait_ms`) without a Redis round trip per waiter per
 * tick: every waiter of the process shares one subscription to the `finished` channel, and a task
 * is marked watched (watchTask, atomic with its status read) so the script that finishes it
 * publishes its id. However many clients wait on one task, its end costs one message.
 */
@Injectable()
export class TaskWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
  private listening?: Promise<unknown>;

  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    private readonly events: QueueEvents,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
  ) {}

  /**
   * Resolves when the task reaches a terminal state or `timeoutMs` passes, whichever is first (the
   * caller then reads the task as it stands). NotFound for an unknown id.
   */
  async untilFinished(id: string, timeoutMs: number): Promise<void> {
    const key = taskKey(this.options.prefix, id);
    if (!key) throw errorForScriptCode(SCRIPT_CODE.NotFound, 'wait', id)!;
    const channel = queueChannels(this.options.prefix).finished;
    this.listening ??= this.events
      .subscribe(channel, (finishedId) => this.release(finishedId))
      .catch((error: unknown) => {
        this.listening = undefined;
        throw error;
      });
    await this.listening;

    let release!: () => void;
    const finished = new Promise<void>((resolve) => (release = resolve));
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(release);
    let timer: NodeJS.Timeout | undefined;
    try {
      // Registered before watching: a finish right after the watch reaches this waiter.
      const { code } = await redisCall('wait', () => watchTask.run(this.redis, { task: key }, { channel }));
      if (code === SCRIPT_CODE.NotFound) throw errorForScriptCode(SCRIPT_CODE.NotFound, 'wait', id)!;
      if (code === 0) return;
      await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    } finally {
      clearTimeout(timer);
      set.delete(release);
      if (!set.size) this.waiters.delete(id);
    }
  }

  private release(id: string): void {
    for (const resolve of this.waiters.get(id) ?? []) resolve();
  }
}
