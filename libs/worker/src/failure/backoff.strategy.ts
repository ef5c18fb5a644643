import { BackoffOptions, typeBackoffDelayMs } from '@app/contracts';

/** Decides how long a failed run waits before its retry. Injected (BACKOFF_STRATEGY), so tests can swap it. */
export interface BackoffStrategy {
  /** `attempt` is the run that just failed, 1 for the first. */
  delayMs(attempt: number, options: Required<BackoffOptions>): number;
}

export const BACKOFF_STRATEGY = Symbol('taskq:backoff-strategy');

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * uniform in [0, min(max, base * 2^(attempt-1))], so retries of many tasks that failed together
 * spread out instead of stampeding.
 */
export class ExponentialJitterBackoff implements BackoffStrategy {
  constructor(private readonly random: () => number = Math.random) {}

  delayMs(attempt: number, options: Required<BackoffOptions>): number {
    return typeBackoffDelayMs(options, attempt, this.random);
  }
}
