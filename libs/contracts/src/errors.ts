/**
 * Thrown by a handler to say "retrying will not help" (bad data, a permanent refusal):
 * the task goes straight to the dead-letter queue with reason non_retryable.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}
