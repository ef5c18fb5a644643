import { Inject, Injectable } from '@nestjs/common';
import { InjectRedis, RedisClient, redisCall } from '@app/queue';
import { AUTH_OPTIONS } from './auth.module-definition';
import { AuthModuleOptions } from './auth.options';
import { authKeys, AuthKeys } from './keys/auth-keys';
import { AuthRedis, withAuthScripts } from './scripts/auth-scripts';

/** A request over a quota: which, its limit, and when the window ends. Nothing was taken. */
export class QuotaExceeded extends Error {
  constructor(
    readonly quota: 'tasks' | 'payload bytes',
    readonly limit: number,
    readonly used: number,
    readonly asked: number,
    readonly retryAfterSeconds: number,
    readonly windowSeconds: number,
  ) {
    super(
      asked > limit
        ? `this request alone holds ${asked} ${quota}; the quota is ${limit} ${quota} per ${windowSeconds} s (QUOTA_${quota === 'tasks' ? 'TASKS' : 'PAYLOAD_BYTES'}): split it`
        : `quota of ${limit} ${quota} per ${windowSeconds} s reached (${used} used, this request needs ${asked}); the window ends in ${retryAfterSeconds} s`,
    );
  }
}

/** What a reservation took, to give back if the write it was for did not happen. */
export interface Reservation {
  subject: string;
  tasks: number;
  bytes: number;
}

/**
 * Per-subject quotas on what is submitted: tasks and serialized payload bytes per window
 * (QUOTA_TASKS, QUOTA_PAYLOAD_BYTES, QUOTA_WINDOW_SECONDS). A submit reserves before it writes
 * (atomically: no two replicas can both take the last of a quota) and refunds when it wrote nothing.
 */
@Injectable()
export class QuotaKeeper {
  private readonly redis: AuthRedis;
  private readonly keys: AuthKeys;

  constructor(
    @InjectRedis() redis: RedisClient,
    @Inject(AUTH_OPTIONS) private readonly options: Pick<AuthModuleOptions, 'prefix' | 'quota'>,
  ) {
    this.redis = withAuthScripts(redis);
    this.keys = authKeys(options.prefix);
  }

  get enabled(): boolean {
    return this.options.quota.tasks > 0 || this.options.quota.payloadBytes > 0;
  }

  /** Takes `tasks` and `bytes` from the subject's quota, or throws QuotaExceeded (nothing taken). */
  async reserve(subject: string, tasks: number, bytes: number): Promise<Reservation> {
    const reservation = { subject, tasks, bytes };
    if (!this.enabled) return reservation;
    const { tasks: maxTasks, payloadBytes: maxBytes, windowSeconds } = this.options.quota;
    const [code, used, leftMs] = (
      await redisCall('reserveQuota', () =>
        this.redis.taskqAuthReserveQuota(
          this.keys.quota(subject),
          tasks,
          bytes,
          maxTasks,
          maxBytes,
          windowSeconds * 1000,
        ),
      )
    ).map(Number);
    if (code === 1) return reservation;
    const retryAfter = Math.max(1, Math.ceil(leftMs / 1000));
    throw code === -1
      ? new QuotaExceeded('tasks', maxTasks, used, tasks, retryAfter, windowSeconds)
      : new QuotaExceeded('payload bytes', maxBytes, used, bytes, retryAfter, windowSeconds);
  }

  /** Gives a reservation back (the write it was for did not happen). */
  async refund(reservation: Reservation): Promise<void> {
    if (!this.enabled || (reservation.tasks === 0 && reservation.bytes === 0)) return;
    await redisCall('refundQuota', () =>
      this.redis.taskqAuthRefundQuota(this.keys.quota(reservation.subject), reservation.tasks, reservation.bytes),
    );
  }
}
