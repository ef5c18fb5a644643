import { MissedPolicy } from '@app/queue';

export const TASK_SCHEDULE_METADATA = 'taskq:task-schedule';

/** A schedule declared on a task handler; what the worker upserts at boot (PUT /schedules/{name} semantics). */
export interface TaskScheduleOptions {
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

export interface TaskScheduleMetadata extends TaskScheduleOptions {
  cron: string;
  /** The decorator it was declared with, as error messages and warnings name it. */
  decorator: 'TaskSchedule' | 'Cron';
}

function declare(decorator: TaskScheduleMetadata['decorator'], cron: string, options: TaskScheduleOptions) {
  return ((_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const declared = (Reflect.getMetadata(TASK_SCHEDULE_METADATA, method) as TaskScheduleMetadata[] | undefined) ?? [];
    Reflect.defineMetadata(TASK_SCHEDULE_METADATA, [...declared, { ...options, cron, decorator }], method);
    return descriptor;
  }) satisfies MethodDecorator;
}

/**
 * Declares a schedule on a `@TaskHandler` method: `@TaskSchedule('0 3 * * *', { tz: 'Europe/Berlin' })`.
 * At boot the worker checks every declaration (expression, time zone, payload against the task
 * type's contract; a bad one stops the boot) and upserts it by name, so each deploy declares its
 * schedules idempotently. A method may carry several, each with its own name. Removing a
 * declaration does not delete its schedule: DELETE /schedules/{name} does.
 */
export function TaskSchedule(cron: string, options: TaskScheduleOptions = {}): MethodDecorator {
  return declare('TaskSchedule', cron, options);
}

/**
 * The former name of `@TaskSchedule`, which shared its name with `@nestjs/schedule`'s `@Cron` (a
 * timer in the process, not a schedule in the queue). Still works for one release; the worker
 * warns at boot for each use.
 * @deprecated Use `@TaskSchedule`.
 */
export function Cron(cron: string, options: TaskScheduleOptions = {}): MethodDecorator {
  return declare('Cron', cron, options);
}
