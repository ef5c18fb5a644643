import { Injectable } from '@nestjs/common';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { dtoContract, NonRetryableError, TaskContext, TaskHandler, TaskqClient } from '@taskq/worker';

/** This application's own task types: their payloads, checked by class-validator before a handler runs. */
export class ShoutPayload {
  @IsString()
  @MaxLength(1000)
  text: string;
}

export class ShoutManyPayload {
  @IsString()
  @MaxLength(1000)
  text: string;

  @IsInt()
  @Min(1)
  @Max(100)
  times: number;
}

export const shoutContract = dtoContract({
  type: 'example.shout',
  description: 'Upper-cases text and adds an exclamation mark',
  dto: ShoutPayload,
  example: { text: 'hello' },
  defaults: { maxRetries: 2, timeoutMs: 10_000 },
});

export const shoutManyContract = dtoContract({
  type: 'example.shout_many',
  description: 'Submits `times` example.shout tasks through the api (the producer side of the same application)',
  dto: ShoutManyPayload,
  example: { text: 'hello', times: 3 },
});

@Injectable()
export class ShoutHandlers {
  constructor(private readonly taskq: TaskqClient) {}

  @TaskHandler('example.shout')
  shout(payload: ShoutPayload, ctx: TaskContext) {
    if (!payload.text.trim()) throw new NonRetryableError('nothing to shout');
    return { shouted: `${payload.text.toUpperCase()}!`, attempt: ctx.attempt };
  }

  @TaskHandler('example.shout_many')
  async shoutMany(payload: ShoutManyPayload) {
    const tasks = Array.from({ length: payload.times }, (_, i) => ({
      task_type: 'example.shout',
      payload: { text: `${payload.text} ${i + 1}` },
    }));
    const submitted = await this.taskq.submitMany(tasks);
    return { task_ids: submitted.task_ids };
  }
}
