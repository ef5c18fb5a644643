import { Injectable } from '@nestjs/common';
import { ActiveRun } from '../run/active-run';

/** The runs this worker holds leases for, keyed by lease token; shared by the pool and the heartbeat. */
@Injectable()
export class RunRegistry {
  private readonly runs = new Map<string, ActiveRun>();

  get size(): number {
    return this.runs.size;
  }

  add(run: ActiveRun): void {
    this.runs.set(run.token, run);
  }

  /** Removes this run's own entry only. */
  remove(run: ActiveRun): void {
    if (this.runs.get(run.token) === run) this.runs.delete(run.token);
  }

  byToken(token: string): ActiveRun | undefined {
    return this.runs.get(token);
  }

  values(): IterableIterator<ActiveRun> {
    return this.runs.values();
  }

  /** How many runs it holds per queue (the registry's report: a queue-limited caller sees its queues' counts only). */
  countByQueue(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const run of this.runs.values()) counts[run.task.queue] = (counts[run.task.queue] ?? 0) + 1;
    return counts;
  }

  /** Runs not yet given up, grouped by queue (one heartbeat call per queue). */
  liveByQueue(): Map<string, ActiveRun[]> {
    const byQueue = new Map<string, ActiveRun[]>();
    for (const run of this.runs.values()) {
      if (run.abandoned) continue;
      const group = byQueue.get(run.task.queue);
      if (group) group.push(run);
      else byQueue.set(run.task.queue, [run]);
    }
    return byQueue;
  }
}
