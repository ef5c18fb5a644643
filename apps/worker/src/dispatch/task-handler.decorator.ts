import { SetMetadata } from '@nestjs/common';

export const TASK_HANDLER_METADATA = 'taskq:task-handler';

export interface TaskHandlerMetadata {
  type: string;
}

/**
 * Marks a provider method as the handler of one task type: `@TaskHandler('email')`. The method
 * receives the validated payload and a `TaskContext`, and may return a JSON-serializable result.
 * Retries, timeout and backoff are the task type's contract's (libs/contracts), the one place the
 * api and the worker both read them.
 */
export const TaskHandler = (type: string) => SetMetadata<string, TaskHandlerMetadata>(TASK_HANDLER_METADATA, { type });
