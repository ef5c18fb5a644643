import { SetMetadata } from '@nestjs/common';
import { TaskDefaults } from '@app/contracts';

export const TASK_HANDLER_METADATA = 'taskq:task-handler';

export interface TaskHandlerMetadata extends TaskDefaults {
  type: string;
}

/**
 * Marks a provider method as the handler of one task type:
 * `@TaskHandler('email', { maxRetries, timeoutMs, backoff })`. The method receives the validated
 * payload and a `TaskContext`, and may return a JSON-serializable result.
 */
export const TaskHandler = (type: string, options: TaskDefaults = {}) =>
  SetMetadata<string, TaskHandlerMetadata>(TASK_HANDLER_METADATA, { type, ...options });
