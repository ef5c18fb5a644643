import { Injectable } from '@nestjs/common';

/**
 * RESULTS_BUFFER_MAX on the worker's side. The claim script holds the bound itself, for every worker
 * at once (it claims no more than leaves a queue's archive backlog under it); this only keeps the pool
 * from asking again and again while a queue is backlogged: a claim that came back `backlogged` marks
 * the queue, and the pool waits here (not on submit wake-ups) until the archiver's latest counts show
 * the backlog under the bound. Runs in flight still finish into the backlog, so it can pass the bound
 * by at most the workers' concurrency; nothing is refused or lost.
 */
@Injectable()
export class ResultsBackpressure {
  private readonly full = new Set<string>();
  private waiters: (() => void)[] = [];

  /** Pending counts per queue (the archiver's latest), against the limit. */
  update(pending: ReadonlyMap<string, number>, limit: number): void {
    let opened = false;
    for (const [queue, count] of pending) {
      if (count >= limit) this.full.add(queue);
      else if (this.full.delete(queue)) opened = true;
    }
    if (opened) this.release();
  }

  /** A claim of the queue came back held back by the bound. */
  markBacklogged(queue: string): void {
    this.full.add(queue);
  }

  blocked(queue: string): boolean {
    return this.full.has(queue);
  }

  /** Resolves when a queue opens again, or after `timeoutMs`, or at once on stop (`release`). */
  waitForOpen(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  /** Wakes every waiter (a queue opened, or the pool is stopping). */
  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
