import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { loggerParams, validateEnv } from '@app/config';
import { TaskqWorkerModule, WorkerEnv } from '@app/worker';
import { DemoHandlersModule } from './handlers/demo/demo-handlers.module';
import { FaultHandlersModule } from './handlers/faults/fault-handlers.module';

export interface WorkerModuleOptions {
  /** Load the demo task pack (DEMO_TASKS); must match the api's, which accepts the same types. */
  demoTasks: boolean;
  /** Load the fault-injection pack (FAULT_TASKS, the fault suite only); must match the api's too. */
  faultTasks?: boolean;
}

/**
 * The taskq worker process: the worker library (TaskqWorkerModule) with the environment as its
 * settings, JSON logs, and the demo pack (and the fault pack for the fault suite) as its handlers.
 */
@Module({})
export class WorkerModule {
  static register(options: WorkerModuleOptions): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv(WorkerEnv) }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<WorkerEnv, true>) =>
            loggerParams(config.get('LOG_LEVEL', { infer: true }), 'worker'),
        }),
        TaskqWorkerModule.forRootAsync({
          demoTasks: options.demoTasks,
          faultTasks: options.faultTasks,
          inject: [ConfigService],
          // The validated environment, as the worker's settings.
          useFactory: (config: ConfigService<WorkerEnv, true>) =>
            Object.fromEntries(
              Object.keys(new WorkerEnv()).map((name) => [name, config.get(name as keyof WorkerEnv, { infer: true })]),
            ),
        }),
        DemoHandlersModule.register(options.demoTasks),
        FaultHandlersModule.register(options.faultTasks ?? false),
      ],
    };
  }
}
