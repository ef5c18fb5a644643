import { Logger } from '@nestjs/common';

export interface BackgroundTaskOptions {
  /**
   * `after-previous` (the default): the next tick is scheduled when the previous one ends, so ticks
   * never overlap and a slow tick delays the next. `fixed`: a tick starts every interval whether or
   * not earlier ones have ended, for work whose deadline does not wait for a slow call (renewing
   * leases: a renewal that hangs must not hold back the next one).
   */
  cadence?: 'after-previous' | 'fixed';
}

/**
 * A periodic job with one shape: start(), stop() (waits for the ticks in progress). A failing tick
 * is logged, not fatal.
 */
export class BackgroundTask {
  private timer?: NodeJS.Timeout;
  private readonly running = new Set<Promise<void>>();
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
    private readonly logger: Logger,
    private readonly options: BackgroundTaskOptions = {},
  ) {}

  start(): void {
    this.stopped = false;
    if (this.options.cadence === 'fixed') {
      this.timer = setInterval(() => void this.run(), this.intervalMs);
    } else {
      this.schedule();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await Promise.all(this.running);
  }

  private run(): Promise<void> {
    const current = this.tick()
      .catch((error: unknown) => this.logger.warn({ msg: `${this.name} failed: ${(error as Error).message}` }))
      .finally(() => this.running.delete(current));
    this.running.add(current);
    return current;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.run().finally(() => this.schedule());
    }, this.intervalMs);
  }
}
