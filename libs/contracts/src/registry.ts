import { DEMO_CONTRACTS } from './demo/demo.contracts';
import { FAULT_CONTRACTS } from './faults/chaos.contract';
import { BackoffOptions, TaskContract } from './task-contract';

/**
 * Your own task types: add a contract here and one `@TaskHandler` provider to the worker.
 * The worker refuses to boot when a contract has no handler or two.
 */
export const APP_CONTRACTS: readonly TaskContract<unknown>[] = [];

/** What a task of a type gets when neither the submitter nor its contract says otherwise. */
export interface TaskSettingsDefaults {
  maxRetries: number;
  timeoutMs: number;
  backoff: Required<BackoffOptions>;
}

/** A task type's effective settings: its contract's defaults over the deployment's. */
export interface TaskSettings {
  maxRetries: number;
  timeoutMs: number;
  backoff: Required<BackoffOptions>;
}

/** Used where a caller has no deployment settings of its own (e.g. a unit test). */
export const BUILT_IN_DEFAULTS: TaskSettingsDefaults = {
  maxRetries: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 1000, maxMs: 3_600_000 },
};

/**
 * The task types a deployment accepts (the demo pack unless DEMO_TASKS=false, the fault-injection
 * pack only with FAULT_TASKS=true) and the one place their settings are resolved: the api (defaults
 * for a submitted task) and the worker (its backoff) both ask `settingsFor`.
 */
export class TaskContractRegistry {
  private readonly byType = new Map<string, TaskContract<unknown>>();
  private readonly settings = new Map<string, TaskSettings>();

  constructor(
    contracts: readonly TaskContract<unknown>[],
    private readonly defaults: TaskSettingsDefaults = BUILT_IN_DEFAULTS,
  ) {
    for (const contract of contracts) {
      if (this.byType.has(contract.type)) throw new Error(`task type "${contract.type}" has two contracts`);
      this.byType.set(contract.type, contract);
      this.settings.set(contract.type, {
        maxRetries: contract.defaults?.maxRetries ?? defaults.maxRetries,
        timeoutMs: contract.defaults?.timeoutMs ?? defaults.timeoutMs,
        backoff: { ...defaults.backoff, ...definedOnly(contract.defaults?.backoff) },
      });
    }
  }

  static forDeployment(demoTasks: boolean, faultTasks = false, defaults?: TaskSettingsDefaults): TaskContractRegistry {
    return new TaskContractRegistry(
      [...(demoTasks ? DEMO_CONTRACTS : []), ...(faultTasks ? FAULT_CONTRACTS : []), ...APP_CONTRACTS],
      defaults,
    );
  }

  get(type: string): TaskContract<unknown> | undefined {
    return this.byType.get(type);
  }

  /** The type's max_retries, timeout_ms and backoff; the deployment's defaults for an unknown type. */
  settingsFor(type: string): TaskSettings {
    return this.settings.get(type) ?? this.defaults;
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  all(): TaskContract<unknown>[] {
    return [...this.byType.values()];
  }
}

/**
 * `{ baseMs: undefined }` must not override a default: spreading it would (and a NaN retry delay
 * once came from exactly that), so only defined fields are kept.
 */
function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
