import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { loggerParams, queueOptionsFrom, resultsOptionsFrom, validateEnv } from '@app/config';
import { ContractsModule } from '@app/contracts';
import { MetricsModule } from '@app/metrics';
import { QueueModule } from '@app/queue';
import { ResultsModule } from '@app/results';
import { WorkerEnv } from './config/worker.env';
import { WORKER_OPTIONS, WorkerOptions, workerOptionsFrom } from './config/worker.options';
import { TaskDispatcher } from './dispatch/task-dispatcher';
import { TaskHandlerExplorer } from './dispatch/task-handler.explorer';
import { BACKOFF_STRATEGY, ExponentialJitterBackoff } from './failure/backoff.strategy';
import { DeadLetterLog } from './failure/dead-letter-log';
import { OutcomeWriter } from './failure/outcome-writer';
import { FailurePolicy } from './failure/failure-policy';
import { DemoHandlersModule } from './handlers/demo/demo-handlers.module';
import { FaultHandlersModule } from './handlers/faults/fault-handlers.module';
import { HealthController } from './health/health.controller';
import { MetricsInterceptor } from './interceptors/metrics.interceptor';
import { TASK_INTERCEPTORS } from './interceptors/task-interceptor.interface';
import { TimeoutInterceptor } from './interceptors/timeout.interceptor';
import { WorkerLifecycle } from './lifecycle/worker-lifecycle';
import { MetricsPrimer } from './metrics/metrics-primer';
import { CancelListener } from './pool/cancel-listener';
import { Heartbeat } from './pool/heartbeat';
import { RunRegistry } from './pool/run-registry';
import { WorkerPool } from './pool/worker-pool';
import { LeaseRecoverer } from './recovery/lease-recoverer';
import { SchemaUpgrader } from './recovery/schema-upgrader';
import { ResultArchiver } from './results/result-archiver';
import { ResultsBackpressure } from './results/results-backpressure';
import { RetentionSweeper } from './results/retention-sweeper';
import { ScheduleDeclarations } from './schedules/schedule-declarations';
import { Scheduler, SCHEDULER_CLOCK, systemClock } from './schedules/scheduler';
import { TaskThreadPool } from './threads/task-thread-pool';

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
      useFactory: (config: ConfigService<WorkerEnv, true>) => ({
        ...queueOptionsFrom(config, 'worker'),
        resultsBufferMax: config.get('RESULTS_BUFFER_MAX', { infer: true }),
      }),
    }),
    ResultsModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<WorkerEnv, true>) => resultsOptionsFrom(config, 'worker'),
    }),
    ContractsModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<WorkerEnv, true>) => ({
        demoTasks: options.demoTasks,
        faultTasks: options.faultTasks,
        defaults: {
          maxRetries: config.get('DEFAULT_MAX_RETRIES', { infer: true }),
          timeoutMs: config.get('DEFAULT_TIMEOUT_MS', { infer: true }),
          backoff: workerOptionsFrom(config).backoff,
        },
      }),
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
      useFactory: (config: ConfigService<WorkerEnv, true>): WorkerOptions => workerOptionsFrom(config),
    },
    { provide: BACKOFF_STRATEGY, useValue: new ExponentialJitterBackoff() },
    MetricsInterceptor,
    FailurePolicy,
    TimeoutInterceptor,
    {
      // Outermost first: metrics times every outcome, the failure policy turns errors into outcomes, timeout aborts.
      provide: TASK_INTERCEPTORS,
      inject: [MetricsInterceptor, FailurePolicy, TimeoutInterceptor],
      useFactory: (...interceptors: unknown[]) => interceptors,
    },
    TaskHandlerExplorer,
    TaskThreadPool,
    TaskDispatcher,
    DeadLetterLog,
    OutcomeWriter,
    RunRegistry,
    Heartbeat,
    CancelListener,
    LeaseRecoverer,
    SchemaUpgrader,
    ResultsBackpressure,
    ResultArchiver,
    RetentionSweeper,
    WorkerPool,
    WorkerLifecycle,
    MetricsPrimer,
    { provide: SCHEDULER_CLOCK, useValue: systemClock },
    ScheduleDeclarations,
    Scheduler,
  ],
});
