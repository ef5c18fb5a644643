import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { loggerParams, queueOptionsFrom, validateEnv } from '@app/config';
import { TaskContractRegistry } from '@app/contracts';
import { MetricsModule } from '@app/metrics';
import { QueueModule } from '@app/queue';
import { WorkerEnv } from './config/worker.env';
import { WORKER_OPTIONS, workerOptionsFrom } from './config/worker.options';
import { TaskDispatcher } from './dispatch/task-dispatcher';
import { TaskHandlerExplorer } from './dispatch/task-handler.explorer';
import { DeadLetterHandler } from './dlq/dead-letter.handler';
import { DemoHandlersModule } from './handlers/demo/demo-handlers.module';
import { FaultHandlersModule } from './handlers/faults/fault-handlers.module';
import { HealthController } from './health/health.controller';
import { MetricsInterceptor } from './interceptors/metrics.interceptor';
import { RetryInterceptor } from './interceptors/retry.interceptor';
import { TASK_INTERCEPTORS } from './interceptors/task-interceptor.interface';
import { TimeoutInterceptor } from './interceptors/timeout.interceptor';
import { MetricsPrimer } from './metrics/metrics-primer';
import { WorkerPool } from './pool/worker-pool';
import { LeaseRecoverer } from './recovery/lease-recoverer';
import { BACKOFF_STRATEGY, ExponentialJitterBackoff } from './retry/backoff.strategy';
import { CONTRACT_REGISTRY } from './worker.constants';

export interface WorkerModuleOptions {
  /** Load the demo task pack (DEMO_TASKS); must match the api's, which accepts the same types. */
  demoTasks: boolean;
  /** Load the fault-injection pack (FAULT_TASKS, the fault suite only); must match the api's too. */
  faultTasks?: boolean;
}

@Module({})
export class WorkerModule {
  static register(options: WorkerModuleOptions): DynamicModule {
    return { module: WorkerModule, ...workerModuleMetadata(options) };
  }
}

const workerModuleMetadata = (options: WorkerModuleOptions) => ({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv(WorkerEnv) }),
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<WorkerEnv, true>) =>
        loggerParams(config.get('LOG_LEVEL', { infer: true }), 'worker'),
    }),
    QueueModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<WorkerEnv, true>) => queueOptionsFrom(config, 'worker'),
    }),
    MetricsModule.forWorker(),
    MetricsModule.endpoint(),
    TerminusModule,
    DiscoveryModule,
    DemoHandlersModule.register(options.demoTasks),
    FaultHandlersModule.register(options.faultTasks ?? false),
  ],
  controllers: [HealthController],
  providers: [
    {
      provide: WORKER_OPTIONS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<WorkerEnv, true>) => workerOptionsFrom(config),
    },
    {
      provide: CONTRACT_REGISTRY,
      inject: [ConfigService],
      useFactory: (config: ConfigService<WorkerEnv, true>) =>
        TaskContractRegistry.forDeployment(
          config.get('DEMO_TASKS', { infer: true }),
          config.get('FAULT_TASKS', { infer: true }),
        ),
    },
    { provide: BACKOFF_STRATEGY, useValue: new ExponentialJitterBackoff() },
    MetricsInterceptor,
    RetryInterceptor,
    TimeoutInterceptor,
    {
      // Outermost first: metrics sees every outcome, retry turns errors into outcomes, timeout aborts.
      provide: TASK_INTERCEPTORS,
      inject: [MetricsInterceptor, RetryInterceptor, TimeoutInterceptor],
      useFactory: (...interceptors: unknown[]) => interceptors,
    },
    TaskHandlerExplorer,
    TaskDispatcher,
    DeadLetterHandler,
    LeaseRecoverer,
    WorkerPool,
    MetricsPrimer,
  ],
});
