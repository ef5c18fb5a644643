import { Logger } from '@nestjs/common';

export interface ServiceLoopOptions {
  /** The wait before the first pass (ms); by default the first pass starts at once. */
  firstDelayMs?: number;
  /**
   * The wait after a pass that returned no delay of its own (ms); without it such a pass is followed by the
   * next at once, without yielding to the event loop (for a pass that always awaits I/O).
   */
  intervalMs?: number;
  /**
   * The wait after a failed pass: `baseMs` doubled per failure in a row, at most `maxMs`. By default
   * 200 ms, 400 ms, 800 ms, then 1 s.
   */
  backoff?: { baseMs: number; maxMs: number };
  /** The warning logged on the first failure of a streak (the others are quiet until a pass succeeds). */
  failureMessage?: (error: Error) => string;
  /**
   * Called on every failed pass instead of the warning, with the failures in a row; a number it returns
   * is the wait before the next pass (instead of the backoff).
   */
  onFailure?: (error: unknown, failures: number) => number | void;
}

const DEFAULT_BACKOFF = { baseMs: 200, maxMs: 1000 };

/**
 * One shape for a worker's background loops (the pool's claims, the scheduler, the result archiver, the
 * retention sweeper, lease recovery, the worker report): passes one after another, never two at once.
 * A pass returns how long to sleep before the next (0: go again after yielding to the event loop; nothing,
 * with no `intervalMs`: go again at once);
 * `wake()` cuts the sleep short (or skips the next one when called during a pass); a failed pass backs
 * off; `stop()` ends the loop and waits for the pass in progress.
 */
export class ServiceLoop {
  private done?: Promise<void>;
  private stopped = true;
  private woken = false;
  private wakeSleep?: () => void;
  private failures = 0;

  constructor(
    private readonly name: string,
    private readonly pass: () => Promise<number | void>,
    private readonly logger: Logger,
    private readonly options: ServiceLoopOptions = {},
  ) {}

  /** Whether stop() was called: a pass that waits on something of its own checks it to end early. */
  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    if (this.done) return;
    this.stopped = false;
    this.done = this.run();
  }

  /** The next pass starts now: the sleep in progress ends, or the one after the pass in progress is skipped. */
  wake(): void {
    this.woken = true;
    this.wakeSleep?.();
  }

  /** No pass starts after this call (it marks the loop stopping at once); resolves once the current one ends. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeSleep?.();
    await this.done;
    this.done = undefined;
  }

  private async run(): Promise<void> {
    await this.sleep(this.options.firstDelayMs ?? 0);
    while (!this.stopped) {
      let delay: number | undefined;
      try {
        delay = (await this.pass()) ?? this.options.intervalMs;
        this.failures = 0;
      } catch (error) {
        if (this.stopped) break;
        delay = this.failed(error);
      }
      await this.sleep(delay);
    }
  }

  private failed(error: unknown): number {
    this.failures++;
    const { baseMs, maxMs } = this.options.backoff ?? DEFAULT_BACKOFF;
    const backoff = Math.min(baseMs * 2 ** Math.min(this.failures - 1, 20), maxMs);
    if (this.options.onFailure) return this.options.onFailure(error, this.failures) ?? backoff;
    if (this.failures === 1) {
      const message = this.options.failureMessage?.(error as Error) ?? `${(error as Error).message}; retrying`;
      this.logger.warn({ msg: `${this.name}: ${message}` });
    }
    return backoff;
  }

  /** `undefined`: no wait and no yield (a pass that always awaits I/O, like the pool's claims). */
  private async sleep(ms: number | undefined): Promise<void> {
    if (this.stopped) return;
    if (this.woken || ms === undefined) {
      this.woken = false;
      return;
    }
    if (ms <= 0) {
      await new Promise((resolve) => setImmediate(resolve));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wakeSleep = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.wakeSleep = undefined;
    this.woken = false;
  }
}
