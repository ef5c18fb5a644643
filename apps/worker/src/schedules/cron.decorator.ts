import { MissedPolicy } from '@app/queue';

export const CRON_METADATA = 'taskq:cron';

/** A schedule declared on a task handler; what the worker upserts at boot (PUT /schedules/{name} semantics). */
export interface CronOptions {
  /** IANA time zone the expression is read in. Default: UTC. */
  tz?: string;
  /** The schedule's unique name. Default: the task type (give names when one type has several schedules). */
  name?: string;
  /** The payload of every task it enqueues; must pass the task type's contract. Default: null. */
  payload?: unknown;
  /** Default: default. */
  queue?: string;
  /** Default: 0. */
  priority?: number;
  /** Default: the task type's, else DEFAULT_MAX_RETRIES. */
  maxRetries?: number;
  /** Default: the task type's, else DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Default: skip. */
  missed?: MissedPolicy;
  /** Default: 10. */
  catchUpLimit?: number;
  /** Default: true. */
  enabled?: boolean;
}

export interface CronMetadata extends CronOptions {
  cron: string;
}

/**
 * Declares a schedule on a `@TaskHandler` method: `@Cron('0 3 * * *', { tz: 'Europe/Berlin' })`.
 * At boot the worker checks every declaration (expression, time zone, payload against the task
 * type's contract; a bad one stops the boot) and upserts it by name, so each deploy declares its
 * schedules idempotently. A method may carry several, each with its own name. Removing a
 * declaration does not delete its schedule: DELETE /schedules/{name} does.
 */
export function Cron(cron: string, options: CronOptions = {}): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const declared = (Reflect.getMetadata(CRON_METADATA, method) as CronMetadata[] | undefined) ?? [];
    Reflect.defineMetadata(CRON_METADATA, [...declared, { ...options, cron }], method);
    return descriptor;
  };
}
