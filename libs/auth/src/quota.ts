import { Inject, Injectable } from '@nestjs/common';
import { InjectRedis, RedisClient, redisCall } from '@app/queue';
import { AUTH_OPTIONS } from './auth.module-definition';
import { AuthModuleOptions } from './auth.options';
import { authKeys, AuthKeys } from './keys/auth-keys';
import { ownLimitName, Quota } from './limits';
import { Principal } from './scopes';
import { AuthRedis, withAuthScripts } from './scripts/auth-scripts';

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
 * (QUOTA_TASKS, QUOTA_PAYLOAD_BYTES, QUOTA_WINDOW_SECONDS). A submit reserves before it writes
 * (atomically: no two replicas can both take the last of a quota) and refunds when it wrote nothing.
 */
@Injectable()
export class QuotaKeeper {
  private readonly redis: AuthRedis;
  private readonly keys: AuthKeys;
  /** The environment's quota; null when both counts are off (0). */
  private readonly defaults: Quota | null;

  constructor(
    @InjectRedis() redis: RedisClient,
    @Inject(AUTH_OPTIONS) options: Pick<AuthModuleOptions, 'prefix' | 'quota'>,
  ) {
    this.redis = withAuthScripts(redis);
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
    const [code, used, leftMs] = (
      await redisCall('reserveQuota', () =>
        this.redis.taskqAuthReserveQuota(
          counter,
          tasks,
          bytes,
          quota.tasks ?? 0,
          quota.payloadBytes ?? 0,
          quota.perSeconds * 1000,
        ),
      )
    ).map(Number);
    if (code === 1) return { counter, tasks, bytes };
    const retryAfter = Math.max(1, Math.ceil(leftMs / 1000));
    const source = (field: 'tasks' | 'payload_bytes', variable: string) =>
      own ? ownLimitName(principal.kind, `quota.${field}`) : variable;
    throw code === -1
      ? new QuotaExceeded(
          'tasks',
          quota.tasks!,
          used,
          tasks,
          retryAfter,
          quota.perSeconds,
          source('tasks', 'QUOTA_TASKS'),
        )
      : new QuotaExceeded(
          'payload bytes',
          quota.payloadBytes!,
          used,
          bytes,
          retryAfter,
          quota.perSeconds,
          source('payload_bytes', 'QUOTA_PAYLOAD_BYTES'),
        );
  }

  /** Gives a reservation back (the write it was for did not happen). */
  async refund(reservation: Reservation): Promise<void> {
    const { counter, tasks, bytes } = reservation;
    if (counter === null || (tasks === 0 && bytes === 0)) return;
    await redisCall('refundQuota', () => this.redis.taskqAuthRefundQuota(counter, tasks, bytes));
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
