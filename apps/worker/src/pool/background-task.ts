import { Logger } from '@nestjs/common';

/**
 * A periodic job with one shape: start(), stop() (waits for a tick in progress). Ticks never
 * overlap: the next is scheduled when the previous one ends. A failing tick is logged, not fatal.
 */
export class BackgroundTask {
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.tick()
        .catch((error: unknown) => this.logger.warn({ msg: `${this.name} failed: ${(error as Error).message}` }))
        .finally(() => {
          this.current = undefined;
          this.schedule();
        });
    }, this.intervalMs);
  }
}
