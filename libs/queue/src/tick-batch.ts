/**
 * Collects what callers add during one turn of the event loop and hands it to `flush` in one go on
 * the next (setImmediate). Concurrent requests or tasks that finish together then share one Redis
 * round trip, while each caller keeps its own promise and outcome.
 */
export class TickBatch<T> {
  private items: T[] = [];

  constructor(private readonly flush: (items: T[]) => void) {}

  add(item: T): void {
    this.items.push(item);
    if (this.items.length > 1) return;
    setImmediate(() => {
      const items = this.items;
      this.items = [];
      this.flush(items);
    });
  }
}
