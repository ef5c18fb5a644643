/**
 * The worker thread running a task died under it: an exception nothing caught (a throw in a timer
 * callback), `process.exit()`, or its heap over WORKER_THREAD_MEMORY_MB. Only that run fails (and is
 * retried like any error); the pool starts a thread in its place.
 */
export class ThreadCrashError extends Error {
  constructor(taskType: string, cause: unknown, memoryMb: number) {
    // Read as an error by its shape: one made by Node's internals may come from another realm than this Error.
    const error = cause as Partial<Error> | undefined;
    const why = typeof error?.message === 'string' ? `${error.name ?? 'Error'}: ${error.message}` : String(cause);
    const outOfMemory = (cause as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const limit = outOfMemory && memoryMb > 0 ? ` (WORKER_THREAD_MEMORY_MB=${memoryMb})` : '';
    super(`the worker thread running this ${taskType} task died (${why}${limit}); the pool replaced it`, { cause });
    this.name = 'ThreadCrashError';
    // The attempt history keeps the thread's own stack under this line: it names the handler's source.
    const causeStack = typeof error?.stack === 'string' ? error.stack : undefined;
    this.stack = causeStack ? `${this.name}: ${this.message}\n${causeStack}` : `${this.name}: ${this.message}`;
  }
}
