import { backoffDelayMs } from '@app/contracts';
import type { ClaimedTask, DeadReason } from '../task';

/**
 * The rules that turn one run's end into a queue transition, shared by the native worker (its failure
 * policy and outcome writer) and the api's HTTP worker protocol, so both kinds of worker retry,
 * dead-letter and store results alike.
 */

/** What a failed run becomes. */
export type FailureDecision = { action: 'retry'; delayMs: number } | { action: 'dead'; reason: DeadReason };

export interface FailureCause {
  /** A failure no retry can mend (non-retryable error, unknown type, invalid payload): dead at once. */
  permanent?: DeadReason;
  /** The run hit its timeout: a last attempt ends `timeout` instead of `max_retries`. */
  timedOut?: boolean;
}

/**
 * A permanent failure is dead at once; a run with no attempt left is dead (`timeout` or `max_retries`);
 * any other is retried after the task's own backoff (given at submit) or else its type's (`typeDelayMs`).
 */
export function decideFailure(
  task: Pick<ClaimedTask, 'attempt' | 'maxRetries' | 'backoff'>,
  cause: FailureCause,
  typeDelayMs: (attempt: number) => number,
): FailureDecision {
  if (cause.permanent) return { action: 'dead', reason: cause.permanent };
  if (task.attempt > task.maxRetries) return { action: 'dead', reason: cause.timedOut ? 'timeout' : 'max_retries' };
  const delayMs = task.backoff ? backoffDelayMs(task.backoff, task.attempt) : typeDelayMs(task.attempt);
  return { action: 'retry', delayMs };
}

/**
 * A run's result as the JSON the ack stores, or why it is dead instead: a result JSON.stringify refuses
 * (BigInt, cycles) is `non_retryable`, one over MAX_RESULT_BYTES is `result_too_large` (neither is
 * transient: a retry would return the same). Nothing is stored cut short.
 */
export function encodeResult(
  result: unknown,
  maxBytes: number,
): { json: string } | { dead: { reason: DeadReason; error: string } } {
  let json: string;
  try {
    json = JSON.stringify(result ?? null);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return { dead: { reason: 'non_retryable', error: `result is not JSON-serializable: ${error.message}` } };
  }
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most results are measured without a pass over them.
  if (json.length * 3 <= maxBytes) return { json };
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) return { json };
  return {
    dead: {
      reason: 'result_too_large',
      error: `result is ${bytes} bytes of JSON, over MAX_RESULT_BYTES (${maxBytes}): keep large results elsewhere (object storage, a database) and return a reference to them`,
    },
  };
}
