import { redisCall } from '@app/queue';
import { AuthRedis, leaseAllowance } from './scripts/auth-scripts';

/**
 * One count of a fixed-window limit: `need` of it for this request, at most `limit` per window.
 * The field names the count in the subject's counter HASH.
 */
export interface AllowanceCount {
  field: 'requests' | 'tasks' | 'bytes';
  need: number;
  limit: number;
}

/** Taken: the request may go on. Refused: count `index` (of the counts asked) has no room; nothing taken. */
export type AllowanceOutcome =
  { taken: true } | { taken: false; index: number; used: number; retryAfterSeconds: number };

/**
 * What one lease asks beyond the request's own need: this share of the limit. A replica then serves
 * about LEASE_SHARE of a window's limit from memory per call to Redis, and what it leased and did not
 * use is lost for the rest of the window: with R replicas, a subject can be refused up to
 * R × LEASE_SHARE × limit early, never let past its limit (docs/adr/0013-leased-limits.md).
 */
export const LEASE_SHARE = 0.01;

/**
 * Limits under this are counted exactly, one request's need per Redis call: small limits are where a
 * refusal 1 % early would be noticed, and where the calls are few anyway.
 */
export const MIN_LEASED_LIMIT = 10_000;

/** Windows held in memory at most; past it, ended windows go first, then the oldest (their leases are lost: safe). */
const MAX_HOLDINGS = 10_000;

interface Holding {
  /** Local clock: the window ends no earlier than this (measured from when the lease was asked). */
  endsAt: number;
  /** Leased and not yet spent, by field. */
  left: Map<string, number>;
}

/**
 * Fixed-window limits counted in Redis across every api replica, spent from leases held in memory:
 * a request takes its need from this replica's lease when it can (no Redis call) and leases more
 * (one script call, leaseAllowance) when it cannot. Requests that find a lease in flight for their
 * counter wait for it rather than send their own, so a burst costs one call.
 */
export class AllowanceLedger {
  private readonly holdings = new Map<string, Holding>();
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly redis: AuthRedis,
    private readonly share = LEASE_SHARE,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes every count's need from the subject's `counter` (a window of `windowMs`), or none of them.
   * Throws the QueueError of redisCall when Redis cannot be asked.
   */
  async take(counter: string, windowMs: number, counts: AllowanceCount[]): Promise<AllowanceOutcome> {
    if (this.takeHeld(counter, counts)) return { taken: true };
    const pending = this.inFlight.get(counter);
    if (pending) {
      await pending.catch(() => undefined);
      if (this.takeHeld(counter, counts)) return { taken: true };
    }
    const lease = this.lease(counter, windowMs, counts);
    this.inFlight.set(counter, lease);
    try {
      return await lease;
    } finally {
      if (this.inFlight.get(counter) === lease) this.inFlight.delete(counter);
    }
  }

  /**
   * Gives back what a request took and did not use (its write was refused): to this replica's lease,
   * for the next request, while the window lasts. The counter in Redis keeps it counted.
   */
  giveBack(counter: string, amounts: Partial<Record<AllowanceCount['field'], number>>): void {
    const holding = this.live(counter);
    if (!holding) return;
    for (const [field, amount] of Object.entries(amounts)) {
      if (amount > 0) holding.left.set(field, (holding.left.get(field) ?? 0) + amount);
    }
  }

  /** What this replica holds of a counter's window (tests). */
  held(counter: string): Partial<Record<AllowanceCount['field'], number>> {
    return Object.fromEntries(this.live(counter)?.left ?? []);
  }

  private live(counter: string): Holding | undefined {
    const holding = this.holdings.get(counter);
    if (holding && holding.endsAt <= this.now()) {
      this.holdings.delete(counter);
      return undefined;
    }
    return holding;
  }

  private takeHeld(counter: string, counts: AllowanceCount[]): boolean {
    const holding = this.live(counter);
    if (!holding || counts.some((c) => (holding.left.get(c.field) ?? 0) < c.need)) return false;
    for (const c of counts) holding.left.set(c.field, holding.left.get(c.field)! - c.need);
    return true;
  }

  private async lease(counter: string, windowMs: number, counts: AllowanceCount[]): Promise<AllowanceOutcome> {
    // What this replica holds counts toward the need (set aside now: requests served while the call is
    // out take from the same holding); only the shortfall is asked for.
    const holding = this.live(counter);
    const fromHeld = counts.map((c) => Math.min(c.need, holding?.left.get(c.field) ?? 0));
    counts.forEach((c, i) => fromHeld[i] > 0 && holding!.left.set(c.field, holding!.left.get(c.field)! - fromHeld[i]));
    const putBack = () => this.giveBack(counter, Object.fromEntries(counts.map((c, i) => [c.field, fromHeld[i]])));
    const shortfall = counts.map((c, i) => c.need - fromHeld[i]);
    const asked = counts.map((c, i) => ({
      field: c.field,
      need: shortfall[i],
      want: shortfall[i] + this.extra(c.limit),
      limit: c.limit,
    }));
    const askedAt = this.now();
    let reply: Awaited<ReturnType<typeof leaseAllowance.run>>;
    try {
      reply = await redisCall('leaseAllowance', () =>
        leaseAllowance.run(this.redis, { counter }, { windowMs, counts: asked }),
      );
    } catch (error) {
      putBack();
      throw error;
    }
    if (!reply.leased) {
      putBack();
      const { index, used, msLeft } = reply;
      return { taken: false, index, used, retryAfterSeconds: Math.max(1, Math.ceil(msLeft / 1000)) };
    }
    const { msLeft, granted } = reply;
    // A holding alive here is of the same window in Redis; either end is no later than the window's.
    const current = this.live(counter) ?? { endsAt: 0, left: new Map<string, number>() };
    current.endsAt = Math.max(current.endsAt, askedAt + msLeft);
    counts.forEach((c, i) => {
      current.left.set(c.field, (current.left.get(c.field) ?? 0) + granted[i] - shortfall[i]);
    });
    this.keep(counter, current);
    return { taken: true };
  }

  /** The lease beyond the need: a share of the limit, none for a small one. */
  private extra(limit: number): number {
    return limit < MIN_LEASED_LIMIT ? 0 : Math.floor(limit * this.share);
  }

  private keep(counter: string, holding: Holding): void {
    this.holdings.delete(counter);
    if (this.holdings.size >= MAX_HOLDINGS) {
      const now = this.now();
      for (const [key, h] of this.holdings) if (h.endsAt <= now) this.holdings.delete(key);
      if (this.holdings.size >= MAX_HOLDINGS) this.holdings.delete(this.holdings.keys().next().value!);
    }
    this.holdings.set(counter, holding);
  }
}
