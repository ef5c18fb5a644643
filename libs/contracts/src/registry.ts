import { DEMO_CONTRACTS } from './demo/demo.contracts';
import { FAULT_CONTRACTS } from './faults/chaos.contract';
import { BackoffOptions, TaskContract } from './task-contract';

/**
 * Your own task types: add a contract here and one `@TaskHandler` provider to the worker.
 * The worker refuses to boot when a contract has no handler or two.
 */
export const APP_CONTRACTS: readonly TaskContract<unknown>[] = [];

/** Where a task type is defined: a contract in code, or PUT /task-types/{name} at run time. */
export type TaskTypeSource = 'code' | 'runtime';

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
  /** Types defined at run time (the api's PUT /task-types), replaced whole by setRuntimeTypes. */
  private runtime = new Map<string, TaskContract<unknown>>();
  private runtimeSettings = new Map<string, TaskSettings>();

  constructor(
    contracts: readonly TaskContract<unknown>[],
    private readonly defaults: TaskSettingsDefaults = BUILT_IN_DEFAULTS,
  ) {
    for (const contract of contracts) {
      if (this.byType.has(contract.type)) throw new Error(`task type "${contract.type}" has two contracts`);
      this.byType.set(contract.type, contract);
      this.settings.set(contract.type, this.resolve(contract));
    }
  }

  private resolve(contract: TaskContract<unknown>): TaskSettings {
    return {
      maxRetries: contract.defaults?.maxRetries ?? this.defaults.maxRetries,
      timeoutMs: contract.defaults?.timeoutMs ?? this.defaults.timeoutMs,
      backoff: { ...this.defaults.backoff, ...definedOnly(contract.defaults?.backoff) },
    };
  }

  /**
   * Replaces every type defined at run time with `contracts`, in one step. A type defined in code keeps
   * its name: a runtime type of the same name is left out (the api refuses to define one, 409).
   */
  setRuntimeTypes(contracts: readonly TaskContract<unknown>[]): void {
    const runtime = new Map<string, TaskContract<unknown>>();
    const settings = new Map<string, TaskSettings>();
    for (const contract of contracts) {
      if (this.byType.has(contract.type)) continue;
      runtime.set(contract.type, contract);
      settings.set(contract.type, this.resolve(contract));
    }
    this.runtime = runtime;
    this.runtimeSettings = settings;
  }

  static forDeployment(
    demoTasks: boolean,
    faultTasks = false,
    defaults?: TaskSettingsDefaults,
    contracts: readonly TaskContract<unknown>[] = [],
  ): TaskContractRegistry {
    return new TaskContractRegistry(
      [...(demoTasks ? DEMO_CONTRACTS : []), ...(faultTasks ? FAULT_CONTRACTS : []), ...APP_CONTRACTS, ...contracts],
      defaults,
    );
  }

  get(type: string): TaskContract<unknown> | undefined {
    return this.byType.get(type) ?? this.runtime.get(type);
  }

  /** Where a type is defined: in code (a contract of this build), at run time, or nowhere (undefined). */
  sourceOf(type: string): TaskTypeSource | undefined {
    return this.byType.has(type) ? 'code' : this.runtime.has(type) ? 'runtime' : undefined;
  }

  /** The type's max_retries, timeout_ms and backoff; the deployment's defaults for an unknown type. */
  settingsFor(type: string): TaskSettings {
    return this.settings.get(type) ?? this.runtimeSettings.get(type) ?? this.defaults;
  }

  /** Every type's name: those defined in code first, then those defined at run time. */
  types(): string[] {
    return [...this.byType.keys(), ...this.runtime.keys()];
  }

  /** The types defined in code (the worker checks each has one handler). */
  codeTypes(): string[] {
    return [...this.byType.keys()];
  }

  all(): TaskContract<unknown>[] {
    return [...this.byType.values(), ...this.runtime.values()];
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
