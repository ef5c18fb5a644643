import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { DEFAULT_QUEUE, MAX_PRIORITY, MIN_PRIORITY, QUEUE_NAME_PATTERN, TaskContractRegistry } from '@app/contracts';
import {
  CATCH_UP_LIMITS,
  MISSED_POLICIES,
  QueueError,
  QueueErrorCode,
  SCHEDULE_NAME_PATTERN,
  ScheduleDefinition,
  ScheduleSpecError,
  ScheduleStore,
  scheduleTiming,
} from '@app/queue';
import { TASK_HANDLER_METADATA, TaskHandlerMetadata } from '../dispatch/task-handler.decorator';
import { TASK_SCHEDULE_METADATA, TaskScheduleMetadata } from './task-schedule.decorator';

const DEFAULT_CATCH_UP_LIMIT = 10;

/**
 * The schedules declared in code with `@TaskSchedule` (or its deprecated name `@Cron`) on
 * `@TaskHandler` methods: found and checked at boot (a bad declaration stops the worker with a message
 * naming it), upserted by the scheduler when it starts (by name; an unchanged declaration writes
 * nothing).
 */
@Injectable()
export class ScheduleDeclarations implements OnModuleInit {
  private readonly logger = new Logger(ScheduleDeclarations.name);
  private definitions: ScheduleDefinition[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly contracts: TaskContractRegistry,
    private readonly store: ScheduleStore,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    const definitions: ScheduleDefinition[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method] as (...args: unknown[]) => unknown;
        const declared = this.reflector.get<TaskScheduleMetadata[] | undefined>(TASK_SCHEDULE_METADATA, fn) ?? [];
        if (!declared.length) continue;
        const where = `${prototype.constructor.name}.${method}`;
        const handler = this.reflector.get<TaskHandlerMetadata | undefined>(TASK_HANDLER_METADATA, fn);
        if (!handler) {
          problems.push(
            `${where} has @${declared[0].decorator} but no @TaskHandler: a schedule enqueues tasks of the method's task type`,
          );
          continue;
        }
        for (const declaration of declared) {
          const label = `@${declaration.decorator}('${declaration.cron}') on ${where}`;
          if (declaration.decorator === 'Cron') {
            this.logger.warn({
              msg: `${label}: @Cron is deprecated (it shares @nestjs/schedule's name, a timer in the process); write @TaskSchedule, the same decorator by its new name. @Cron is removed in the next release`,
            });
          }
          const checked = this.definition(handler.type, declaration, label);
          if (typeof checked === 'string') problems.push(checked);
          else definitions.push(checked);
        }
      }
    }
    const names = new Map<string, number>();
    for (const def of definitions) names.set(def.name, (names.get(def.name) ?? 0) + 1);
    for (const [name, count] of names) {
      if (count > 1) problems.push(`${count} @TaskSchedule declarations are named "${name}": give each its own name`);
    }
    if (problems.length)
      throw new Error(`Schedules declared with @TaskSchedule are invalid:\n  ${problems.join('\n  ')}`);
    this.definitions = definitions;
  }

  get all(): readonly ScheduleDefinition[] {
    return this.definitions;
  }

  /**
   * PUT by name for every declaration. Redis unavailable: the error propagates and the scheduler
   * tries them all again (an upsert is idempotent). A declaration Redis refuses (its schedule's queue
   * differs, a MAX_QUEUES cap) is logged and left: it must not keep the other schedules from firing.
   */
  async upsertAll(): Promise<void> {
    for (const def of this.definitions) {
      try {
        const { record, created, changed } = await this.store.upsert(def);
        if (changed) {
          this.logger.log({
            msg: `schedule ${def.name} ${created ? 'created' : 'updated'} from its @TaskSchedule declaration`,
            schedule: def.name,
            scheduleId: record.id,
          });
        }
      } catch (error) {
        if (error instanceof QueueError && error.code === QueueErrorCode.Unavailable) throw error;
        this.logger.error({
          msg: `the @TaskSchedule declaration of schedule ${def.name} was not applied: ${(error as Error).message}`,
          schedule: def.name,
        });
      }
    }
  }

  /** The declaration as a definition, or what is wrong with it. */
  private definition(type: string, cron: TaskScheduleMetadata, where: string): ScheduleDefinition | string {
    const contract = this.contracts.get(type);
    if (!contract) return `${where}: task type "${type}" has no contract`;
    const name = cron.name ?? type;
    if (!SCHEDULE_NAME_PATTERN.test(name))
      return `${where}: name "${name}" must be 1-128 characters of [A-Za-z0-9_.:-]`;
    const queue = cron.queue ?? DEFAULT_QUEUE;
    if (!QUEUE_NAME_PATTERN.test(queue)) return `${where}: queue "${queue}" must be 1-64 characters of [a-z0-9_-]`;
    try {
      scheduleTiming({ cron: cron.cron, tz: cron.tz ?? 'UTC' }, Date.now());
    } catch (error) {
      if (error instanceof ScheduleSpecError) return `${where}: ${error.message}`;
      throw error;
    }
    const payload = cron.payload ?? null;
    const check = contract.check(payload);
    if (!check.ok) return `${where}: ${check.violations.map((v) => v.message).join('; ')}`;
    const settings = this.contracts.settingsFor(type);
    const task = {
      type,
      queue,
      payload,
      priority: cron.priority ?? 0,
      maxRetries: cron.maxRetries ?? settings.maxRetries,
      timeoutMs: cron.timeoutMs ?? settings.timeoutMs,
    };
    const whole = (value: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
      Number.isSafeInteger(value) && value >= min && value <= max;
    if (!whole(task.priority, MIN_PRIORITY, MAX_PRIORITY)) {
      return `${where}: priority must be a whole number from ${MIN_PRIORITY} to ${MAX_PRIORITY}`;
    }
    if (!whole(task.maxRetries, 0) || !whole(task.timeoutMs, 1)) {
      return `${where}: maxRetries must be a whole number ≥ 0 and timeoutMs ≥ 1`;
    }
    const missed = cron.missed ?? 'skip';
    if (!MISSED_POLICIES.includes(missed)) return `${where}: missed must be one of ${MISSED_POLICIES.join(', ')}`;
    const catchUpLimit = cron.catchUpLimit ?? DEFAULT_CATCH_UP_LIMIT;
    if (!whole(catchUpLimit, CATCH_UP_LIMITS.min, CATCH_UP_LIMITS.max)) {
      return `${where}: catchUpLimit must be a whole number from ${CATCH_UP_LIMITS.min} to ${CATCH_UP_LIMITS.max}`;
    }
    return {
      name,
      spec: { cron: cron.cron, tz: cron.tz ?? 'UTC' },
      task,
      enabled: cron.enabled ?? true,
      missed,
      catchUpLimit,
    };
  }
}
