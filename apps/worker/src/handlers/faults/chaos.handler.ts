import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ChaosPayload, faultRunKeys, NonRetryableError } from '@app/contracts';
import { SharedEnv } from '@app/config';
import { InjectRedis, QueueRedis } from '@app/queue';
import { abortableSleep } from '../demo/abortable-sleep';
import { TaskContext, TaskHandler } from '@app/worker';

/**
 * The fault suite's task (test/faults): each run first records itself in Redis, so the suite
 * counts duplicate runs instead of guessing them, then misbehaves as its payload says.
 */
@Injectable()
export class ChaosHandler {
  private readonly keys: ReturnType<typeof faultRunKeys>;

  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    config: ConfigService<SharedEnv, true>,
  ) {
    this.keys = faultRunKeys(config.get('QUEUE_PREFIX', { infer: true }));
  }

  @TaskHandler('chaos')
  async chaos(payload: ChaosPayload, context: TaskContext): Promise<unknown> {
    // A run whose record cannot be written fails (and is retried): no unrecorded work.
    const [[, runs]] = (await this.redis
      .multi()
      .hincrby(this.keys.runs, context.taskId, 1)
      .rpush(this.keys.log, `${context.taskId} ${process.pid} ${context.attempt} ${Date.now()}`)
      .exec())!;
    const ms = payload.ms ?? 0;
    switch (payload.behaviour) {
      case 'run':
        await abortableSleep(ms, context.signal);
        return { ran_ms: ms, attempt: context.attempt };
      case 'hang':
        return new Promise(() => undefined);
      case 'hang_abortable':
        return new Promise((_, reject) =>
          context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true }),
        );
      case 'throw':
        throw {
          string: 'a thrown string',
          object: { code: 42, detail: 'a thrown object' },
          undefined: undefined,
          null: null,
        }[payload.thrown ?? 'string'];
      case 'huge_reject':
        return Promise.reject(new Error('x'.repeat(payload.bytes ?? 4 * 1024 * 1024)));
      case 'stray_rejection':
        void Promise.reject(new Error(`stray rejection from ${context.taskId}`));
        await abortableSleep(ms, context.signal);
        return { ran_ms: ms };
      case 'timer_throw':
        setTimeout(() => {
          throw new Error(`thrown from a timer by ${context.taskId}`);
        }, 0);
        await abortableSleep(ms, context.signal);
        return { ran_ms: ms };
      case 'fail_first':
        if (context.attempt <= (payload.fail_times ?? 1))
          throw new Error(`planned failure on attempt ${context.attempt}`);
        return { succeeded_on_attempt: context.attempt };
      case 'non_retryable':
        throw new NonRetryableError('planned permanent failure');
      case 'bad_result':
        return { n: BigInt(1) };
      case 'busy': {
        const until = Date.now() + ms;
        while (Date.now() < until);
        return { busy_ms: ms };
      }
      case 'stale_first':
        if (runs === 1) await new Promise((resolve) => setTimeout(resolve, ms));
        else await abortableSleep(payload.later_ms ?? 0, context.signal);
        return { runs };
    }
  }
}
