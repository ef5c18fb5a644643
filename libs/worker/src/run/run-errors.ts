import { NonRetryableError } from '@app/contracts';

/** No handler for the task's type in this worker (version skew between api and worker). */
export class UnknownTaskTypeError extends NonRetryableError {
  constructor(type: string, known: string[]) {
    super(`no handler for task type "${type}" in this worker (handles: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownTaskTypeError';
  }
}

/** The stored payload fails the task type's contract. */
export class InvalidPayloadError extends NonRetryableError {
  constructor(detail: string) {
    super(`invalid payload: ${detail}`);
    this.name = 'InvalidPayloadError';
  }
}

/** The run exceeded its timeout_ms; its signal was aborted. */
export class TaskTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'TaskTimeoutError';
  }
}

/** Another worker owns the task now (our lease expired); the run's outcome is discarded. */
export class LeaseLostError extends Error {
  constructor() {
    super('lease lost: the task was recovered and may run elsewhere');
    this.name = 'LeaseLostError';
  }
}

/** The task was cancelled (POST /tasks/{id}/cancel) while it ran; its outcome is discarded. */
export class CancelledError extends Error {
  constructor() {
    super('task cancelled');
    this.name = 'CancelledError';
  }
}

/** The worker is shutting down and the grace period is over; the task goes back to the queue. */
export class ShutdownError extends Error {
  constructor() {
    super('worker shutting down; task released back to its queue');
    this.name = 'ShutdownError';
  }
}

const MAX_ERROR_CHARS = 4000;

/**
 * Whatever a handler threw (an Error, a string, an object, undefined...) as one bounded line of
 * text for `last_error`: huge messages are truncated, odd values described, never rethrown.
 */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    text = `${error.name}: ${error.message}`;
  } else {
    let shown: string;
    try {
      shown = typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
    } catch {
      shown = Object.prototype.toString.call(error);
    }
    text = `non-Error thrown (${error === null ? 'null' : typeof error}): ${shown}`;
  }
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}… (${text.length} chars, truncated)` : text;
}

/**
 * What the attempt history keeps of a failed run: the error's stack, which starts with its name and
 * message (else describeError's line); the queue truncates it to ATTEMPT_ERROR_MAX_CHARS.
 */
export function errorDetail(error: unknown): string {
  const line = describeError(error);
  if (!(error instanceof Error) || typeof error.stack !== 'string' || error.stack === '') return line;
  return error.stack.startsWith(`${error.name}: `) || error.stack.startsWith(error.name)
    ? error.stack
    : `${line}\n${error.stack}`;
}
