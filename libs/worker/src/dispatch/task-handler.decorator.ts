import { SetMetadata } from '@nestjs/common';

export const TASK_HANDLER_METADATA = 'taskq:task-handler';

/**
 * Runs a task type in a worker thread instead of on the worker's event loop: for CPU-bound work, which
 * would otherwise stop lease renewals and every other slot while it computes.
 */
export interface ThreadIsolation {
  isolation: 'thread';
  /**
   * Absolute path of the module whose export is the handler function, without its extension:
   * `join(__dirname, 'resize.thread')`. Name the file `*.thread.ts`: the build emits each one as its own
   * file beside the worker's main.js (webpack.config.js), where the same `join(__dirname, ...)` finds it.
   */
  file: string;
  /** The export to call, `default` unless named. */
  export?: string;
}

export type TaskHandlerMetadata =
  { type: string; isolation: 'event-loop' } | { type: string; isolation: 'thread'; file: string; exportName: string };

/**
 * Marks a provider method as the handler of one task type: `@TaskHandler('email')`. The method
 * receives the validated payload and a `TaskContext`, and may return a JSON-serializable result.
 * Retries, timeout and backoff are the task type's contract's (libs/contracts), the one place the
 * api and the worker both read them.
 *
 * `@TaskHandler('resize', { isolation: 'thread', file: join(__dirname, 'resize.thread') })` goes on a
 * provider class instead: the type's code is the function that file exports, run in the worker's thread
 * pool (WORKER_THREADS) with the payload and a `ThreadTaskContext`.
 */
export function TaskHandler(type: string): MethodDecorator;
export function TaskHandler(type: string, options: ThreadIsolation): ClassDecorator;
export function TaskHandler(type: string, options?: ThreadIsolation): MethodDecorator & ClassDecorator {
  const metadata: TaskHandlerMetadata = options
    ? { type, isolation: 'thread', file: options.file, exportName: options.export ?? 'default' }
    : { type, isolation: 'event-loop' };
  return SetMetadata<string, TaskHandlerMetadata>(TASK_HANDLER_METADATA, metadata);
}
