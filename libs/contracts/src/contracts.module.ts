import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import { TaskContractRegistry, TaskSettingsDefaults } from './registry';
import { TaskContract } from './task-contract';

/** Which task types a deployment accepts, and the deployment-wide defaults contracts fall back on. */
export interface ContractsModuleOptions {
  /** The demo pack (DEMO_TASKS). */
  demoTasks: boolean;
  /** The fault-injection pack (FAULT_TASKS, the fault suite only). */
  faultTasks?: boolean;
  /** DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS and RETRY_BACKOFF_*. */
  defaults: TaskSettingsDefaults;
  /** Task types of the application around the worker (TaskqWorkerModule's `contracts`). */
  contracts?: readonly TaskContract<unknown>[];
}

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: CONTRACTS_OPTIONS } =
  new ConfigurableModuleBuilder<ContractsModuleOptions>()
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();

/**
 * The one home of task-type settings: provides the `TaskContractRegistry` (the deployment's task
 * types, their payload contracts and their resolved max_retries / timeout_ms / backoff) to both
 * apps, built once from `ContractsModule.forRoot(Async)`.
 */
@Module({
  providers: [
    {
      provide: TaskContractRegistry,
      inject: [CONTRACTS_OPTIONS],
      useFactory: (options: ContractsModuleOptions) =>
        TaskContractRegistry.forDeployment(
          options.demoTasks,
          options.faultTasks ?? false,
          options.defaults,
          options.contracts,
        ),
    },
  ],
  exports: [TaskContractRegistry],
})
export class ContractsModule extends ConfigurableModuleClass {}
