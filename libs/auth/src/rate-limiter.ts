import { Inject, Injectable } from '@nestjs/common';
import { InjectRedis, QueueError, QueueErrorCode, RedisClient } from '@app/queue';
import { AllowanceLedger } from './allowance';
import { AUTH_OPTIONS } from './auth.module-definition';
import { AuthModuleOptions } from './auth.options';
import { authKeys, AuthKeys } from './keys/auth-keys';
import { RateLimit } from './limits';
import { withAuthScripts } from './scripts/auth-scripts';

/** A request refused by its rate limit: nothing else was done for it. */
export interface RateLimited {
  allowed: false;
  retryAfterSeconds: number;
}

/**
 * Fixed-window rate limits per subject (a credential, or `ip:<address>` for requests without one),
 * counted in Redis across every api replica and spent from this replica's lease in memory
 * (AllowanceLedger): in the steady state a request costs no Redis call.
 */
@Injectable()
export class RateLimiter {
  private readonly ledger: AllowanceLedger;
  private readonly keys: AuthKeys;

  constructor(@InjectRedis() redis: RedisClient, @Inject(AUTH_OPTIONS) options: Pick<AuthModuleOptions, 'prefix'>) {
    this.ledger = new AllowanceLedger(withAuthScripts(redis));
    this.keys = authKeys(options.prefix);
  }

  /**
   * Counts one request of `subject` against `rate`. With Redis unreachable the request goes on: every
   * route that does work answers 503 by itself then, and a limiter must not turn an outage into 429s.
   */
  async take(subject: string, rate: RateLimit): Promise<{ allowed: true } | RateLimited> {
    try {
      const outcome = await this.ledger.take(this.keys.rate(subject, rate.perMs), rate.perMs, [
        { field: 'requests', need: 1, limit: rate.max },
      ]);
      return outcome.taken ? { allowed: true } : { allowed: false, retryAfterSeconds: outcome.retryAfterSeconds };
    } catch (error) {
      if (error instanceof QueueError && error.code === QueueErrorCode.Unavailable) return { allowed: true };
      throw error;
    }
  }
}
