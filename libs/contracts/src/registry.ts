import { DEMO_CONTRACTS } from './demo/demo.contracts';
import { FAULT_CONTRACTS } from './faults/chaos.contract';
import { TaskContract } from './task-contract';

/**
 * Your own task types: add a contract here and one `@TaskHandler` provider to the worker.
 * The worker refuses to boot when a contract has no handler or two.
 */
export const APP_CONTRACTS: readonly TaskContract<unknown>[] = [];

/**
 * The task types a deployment accepts; the demo pack is on unless DEMO_TASKS=false, the
 * fault-injection pack only with FAULT_TASKS=true (the fault suite).
 */
export class TaskContractRegistry {
  private readonly byType = new Map<string, TaskContract<unknown>>();

  constructor(contracts: readonly TaskContract<unknown>[]) {
    for (const contract of contracts) {
      if (this.byType.has(contract.type)) throw new Error(`task type "${contract.type}" has two contracts`);
      this.byType.set(contract.type, contract);
    }
  }

  static forDeployment(demoTasks: boolean, faultTasks = false): TaskContractRegistry {
    return new TaskContractRegistry([
      ...(demoTasks ? DEMO_CONTRACTS : []),
      ...(faultTasks ? FAULT_CONTRACTS : []),
      ...APP_CONTRACTS,
    ]);
  }

  get(type: string): TaskContract<unknown> | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  all(): TaskContract<unknown>[] {
    return [...this.byType.values()];
  }
}
