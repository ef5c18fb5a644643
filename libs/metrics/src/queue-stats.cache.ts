import { Injectable, Logger } from '@nestjs/common';
import { QueueInspector, QueueStats } from '@app/queue';

/** Stats younger than this are reused, so one scrape reads Redis once for all queue gauges. */
const FRESH_MS = 500;

/** Reads queue stats through the read-only inspector for the gauges' `collect` hooks. */
@Injectable()
export class QueueStatsCache {
  private readonly logger = new Logger(QueueStatsCache.name);
  private inFlight?: Promise<QueueStats[] | undefined>;
  private last?: QueueStats[];
  private readAt = 0;

  constructor(private readonly inspector: QueueInspector) {}

  /** The latest stats; on a Redis error the previous ones (the scrape itself must not fail). */
  get(): Promise<QueueStats[] | undefined> {
    if (Date.now() - this.readAt < FRESH_MS) return Promise.resolve(this.last);
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async read(): Promise<QueueStats[] | undefined> {
    try {
      this.last = await this.inspector.allStats();
      this.readAt = Date.now();
    } catch (error) {
      this.logger.warn({ msg: `queue stats not refreshed: ${(error as Error).message}` });
    }
    return this.last;
  }
}
