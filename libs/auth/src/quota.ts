import { Inject, Injectable } from '@nestjs/common';
import { InjectRedis, RedisClient } from '@app/queue';
import { AllowanceCount, AllowanceLedger } from './allowance';
import { AUTH_OPTIONS } from './auth.module-definition';
import { AuthModuleOptions } from './auth.options';
import { authKeys, AuthKeys } from './keys/auth-keys';
import { ownLimitName, Quota } from './limits';
import { Principal } from './scopes';
import { withAuthScripts } from './scripts/auth-scripts';

/** A request over a quota: which, its limit, which setting it is, and when the window ends. Nothing was taken. */
export class QuotaExceeded extends Error {
  constructor(
    readonly quota: 'tasks' | 'payload bytes',
    readonly limit: number,
    readonly used: number,
    readonly asked: number,
    readonly retryAfterSeconds: number,
    readonly windowSeconds: number,
    /** The setting that holds the limit: `QUOTA_TASKS`, `the key's own quota.tasks`, ... */
    readonly source: string,
  ) {
    super(
      asked > limit
        ? `this request alone holds ${asked} ${quota}; the quota is ${limit} ${quota} per ${windowSeconds} s (${source}): split it`
        : `quota of ${limit} ${quota} per ${windowSeconds} s (${source}) reached (${used} used, this request needs ${asked}); the window ends in ${retryAfterSeconds} s`,
    );
  }
}

/** What a reservation took, to give back if the write it was for did not happen. */
export interface Reservation {
  /** The counter it was taken from; null when no quota applied (nothing to give back). */
  counter: string | null;
  tasks: number;
  bytes: number;
}

/**
 * Per-subject quotas on what is submitted: tasks and serialized payload bytes per window, the
 * credential's own (an API key's `quota`, a JWT's `taskq_quota`) or else the environment's
 * (QUOTA_TASKS, QUOTA_PAYLOAD_BYTES, QUOTA_WINDOW_SECONDS). A submit reserves before it writes and
 * gives back when it wrote nothing. Counted in Redis across every replica (no two can both take the
 * last of a quota), spent from this replica's lease in memory (AllowanceLedger): in the steady state
 * a reservation costs no Redis call.
 */
@Injectable()
export class QuotaKeeper {
  private readonly ledger: AllowanceLedger;
  private readonly keys: AuthKeys;
  /** The environment's quota; null when both counts are off (0). */
  private readonly defaults: Quota | null;

  constructor(
    @InjectRedis() redis: RedisClient,
    @Inject(AUTH_OPTIONS) options: Pick<AuthModuleOptions, 'prefix' | 'quota'>,
  ) {
    this.ledger = new AllowanceLedger(withAuthScripts(redis));
    this.keys = authKeys(options.prefix);
    this.defaults = defaultQuota(options.quota);
  }

  /** Takes `tasks` and `bytes` from the principal's quota, or throws QuotaExceeded (nothing taken). */
  async reserve(
    principal: Pick<Principal, 'subject' | 'kind' | 'limits'>,
    tasks: number,
    bytes: number,
  ): Promise<Reservation> {
    const own = principal.limits?.quota ?? null;
    const quota = own ?? this.defaults;
    if (!quota) return { counter: null, tasks, bytes };
    const counter = this.keys.quota(principal.subject, quota.perSeconds);
    const counts: (AllowanceCount & { name: 'tasks' | 'payload bytes'; setting: string })[] = [];
    const source = (field: 'tasks' | 'payload_bytes', variable: string) =>
      own ? ownLimitName(principal.kind, `quota.${field}`) : variable;
    if (quota.tasks !== null) {
      counts.push({
        field: 'tasks',
        need: tasks,
        limit: quota.tasks,
        name: 'tasks',
        setting: source('tasks', 'QUOTA_TASKS'),
      });
    }
    if (quota.payloadBytes !== null) {
      counts.push({
        field: 'bytes',
        need: bytes,
        limit: quota.payloadBytes,
        name: 'payload bytes',
        setting: source('payload_bytes', 'QUOTA_PAYLOAD_BYTES'),
      });
    }
    const outcome = await this.ledger.take(counter, quota.perSeconds * 1000, counts);
    if (outcome.taken) return { counter, tasks, bytes };
    const refused = counts[outcome.index];
    throw new QuotaExceeded(
      refused.name,
      refused.limit,
      outcome.used,
      refused.need,
      outcome.retryAfterSeconds,
      quota.perSeconds,
      refused.setting,
    );
  }

  /** Gives a reservation back (the write it was for did not happen), to this replica's lease. */
  refund(reservation: Reservation): void {
    const { counter, tasks, bytes } = reservation;
    if (counter !== null) this.ledger.giveBack(counter, { tasks, bytes });
  }

  /** What this replica holds of a subject's quota window (tests). */
  held(reservation: Pick<Reservation, 'counter'>): { tasks?: number; bytes?: number } {
    return reservation.counter === null ? {} : this.ledger.held(reservation.counter);
  }
}

/** The environment's quota as a Quota (0 = that count is off); null when neither is counted. */
export function defaultQuota(quota: AuthModuleOptions['quota']): Quota | null {
  if (quota.tasks <= 0 && quota.payloadBytes <= 0) return null;
  return {
    tasks: quota.tasks > 0 ? quota.tasks : null,
    payloadBytes: quota.payloadBytes > 0 ? quota.payloadBytes : null,
    perSeconds: quota.windowSeconds,
  };
}
