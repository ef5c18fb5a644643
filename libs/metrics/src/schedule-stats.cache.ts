import { Injectable, Logger } from '@nestjs/common';
import { ScheduleRecord, ScheduleStore, scheduleTiming, ScheduleTiming } from '@app/queue';

/** Read results younger than this are reused, so one scrape reads Redis once for both schedule gauges. */
const FRESH_MS = 500;

/** One enabled schedule as the gauges show it. */
export interface ScheduleStat {
  schedule: string;
  queue: string;
  /** Epoch ms of the tick it waits for. */
  nextRunAt: number;
  /** The time from that tick to the one after it, ms. */
  periodMs: number;
}

/** Reads every schedule for the gauges' `collect` hooks (the api's, so every schedule is seen, served or not). */
@Injectable()
export class ScheduleStatsCache {
  private readonly logger = new Logger(ScheduleStatsCache.name);
  private inFlight?: Promise<ScheduleStat[] | undefined>;
  private last?: ScheduleStat[];
  private readAt = 0;
  private readonly timings = new Map<string, ScheduleTiming>();

  constructor(private readonly store: ScheduleStore) {}

  /** The latest stats; on a Redis error the previous ones (the scrape itself must not fail). */
  get(): Promise<ScheduleStat[] | undefined> {
    if (Date.now() - this.readAt < FRESH_MS) return Promise.resolve(this.last);
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async read(): Promise<ScheduleStat[] | undefined> {
    try {
      const records = await this.store.list();
      this.last = records.flatMap((record) => this.stat(record));
      this.readAt = Date.now();
    } catch (error) {
      this.logger.warn({ msg: `schedule stats not refreshed: ${(error as Error).message}` });
    }
    return this.last;
  }

  private stat(record: ScheduleRecord): ScheduleStat[] {
    if (!record.enabled || record.nextRunAt === null) return [];
    const key = JSON.stringify(record.spec);
    let timing = this.timings.get(key);
    if (!timing) {
      try {
        timing = scheduleTiming(record.spec, Date.now());
      } catch {
        return [];
      }
      if (this.timings.size > 10_000) this.timings.clear();
      this.timings.set(key, timing);
    }
    const after = timing.nextAfter(record.nextRunAt);
    if (after === null) return [];
    return [
      {
        schedule: record.name,
        queue: record.task.queue,
        nextRunAt: record.nextRunAt,
        periodMs: after - record.nextRunAt,
      },
    ];
  }
}
