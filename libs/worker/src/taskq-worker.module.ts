import { DynamicModule, FactoryProvider, Module, ModuleMetadata, Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { queueOptionsFrom, resultsOptionsFrom, validateEnv } from '@app/config';
import { ContractsModule, TaskContract } from '@app/contracts';
import { MetricsModule } from '@app/metrics';
import { QueueModule } from '@app/queue';
import { ResultsModule } from '@app/results';
import { WorkerEnv } from './config/worker.env';
import { WORKER_OPTIONS, WorkerOptions, workerOptionsFrom } from './config/worker.options';
import { TaskDispatcher } from './dispatch/task-dispatcher';
import { TaskHandlerExplorer } from './dispatch/task-handler.explorer';
import { BACKOFF_STRATEGY, ExponentialJitterBackoff } from './failure/backoff.strategy';
import { DeadLetterLog } from './failure/dead-letter-log';
import { FailurePolicy } from './failure/failure-policy';
import { OutcomeWriter } from './failure/outcome-writer';
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

/**
 * The worker's settings, by the names and rules of its environment variables (README: Configuration):
 * `{ REDIS_URL: 'redis://redis:6379', WORKER_QUEUES: 'images', WORKER_CONCURRENCY: 20 }`. Unset ones
 * take their defaults; the process environment is not read.
 */
export type TaskqWorkerSettings = { [K in keyof WorkerEnv]?: WorkerEnv[K] | string };

/** What the worker runs: known when the module is imported, whatever the settings turn out to be. */
export interface TaskqWorkerStructure {
  /** The task types the application handles (a `@TaskHandler` provider each, in any of its modules). */
  contracts?: readonly TaskContract<unknown>[];
  /** The demo pack's contracts (`email`, `echo`, `sleep`, `fail`, `cpu`): its handlers are the application's to provide. */
  demoTasks?: boolean;
  /** The fault-injection pack (taskq's own fault suite). */
  faultTasks?: boolean;
  /**
   * Serve `GET /metrics` (Prometheus, with Node's process metrics) when the application listens on HTTP
   * (default true); false when the application registers prom-client's default metrics itself.
   */
  metricsRoute?: boolean;
}

export interface TaskqWorkerModuleOptions extends TaskqWorkerStructure {
  settings?: TaskqWorkerSettings;
}

export interface TaskqWorkerModuleAsyncOptions extends TaskqWorkerStructure, Pick<ModuleMetadata, 'imports'> {
  inject?: FactoryProvider['inject'];
  useFactory: (...args: any[]) => TaskqWorkerSettings | Promise<TaskqWorkerSettings>;
}

const WORKER_SETTINGS = Symbol('taskq:worker-settings');
/**
 * The worker's own ConfigService, under a token of its own: the application's ConfigService (which a
 * forRootAsync factory may inject) stays the application's.
 */
const WORKER_CONFIG = Symbol('taskq:worker-config');

/** The settings checked as the environment is (a wrong one fails the boot with its name and rule). */
export function workerConfig(settings: TaskqWorkerSettings = {}): ConfigService<WorkerEnv, true> {
  const record = Object.fromEntries(
    Object.entries(settings)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name, String(value)]),
  );
  // Every setting is in the validated instance (defaults included), and ConfigService reads it before process.env.
  return new ConfigService<WorkerEnv, true>(validateEnv(WorkerEnv)(record));
}

/** Holds the worker's own ConfigService (WORKER_CONFIG): the modules below read their options from it. */
@Module({})
class TaskqWorkerConfigModule {}

/**
 * The taskq worker inside any Nest application: `TaskqWorkerModule.forRoot({ settings, contracts })`.
 * It claims tasks of the queues in WORKER_QUEUES, runs each with the `@TaskHandler` method of its type
 * found among the application's providers, and keeps the same leases, retries, dead letters, schedules,
 * health (`GET /health/live|ready`) and metrics as the taskq worker process (which is this module too).
 */
@Module({})
export class TaskqWorkerModule {
  static forRoot(options: TaskqWorkerModuleOptions = {}): DynamicModule {
    const config = workerConfig(options.settings);
    return this.build(options, { provide: WORKER_CONFIG, useValue: config }, []);
  }

  static forRootAsync(options: TaskqWorkerModuleAsyncOptions): DynamicModule {
    const settings: Provider = {
      provide: WORKER_SETTINGS,
      inject: options.inject ?? [],
      useFactory: options.useFactory,
    };
    const config: Provider = {
      provide: WORKER_CONFIG,
      inject: [WORKER_SETTINGS],
      useFactory: (values: TaskqWorkerSettings) => workerConfig(values),
    };
    return this.build(options, config, [settings], options.imports ?? []);
  }

  private static build(
    structure: TaskqWorkerStructure,
    configProvider: Provider,
    extra: Provider[],
    imports: NonNullable<ModuleMetadata['imports']> = [],
  ): DynamicModule {
    const configModule: DynamicModule = {
      module: TaskqWorkerConfigModule,
      imports,
      providers: [...extra, configProvider],
      exports: [WORKER_CONFIG],
    };
    const fromConfig = { imports: [configModule], inject: [WORKER_CONFIG] };
    return {
      module: TaskqWorkerModule,
      imports: [
        configModule,
        QueueModule.forRootAsync({
          ...fromConfig,
          useFactory: (config: ConfigService<WorkerEnv, true>) => ({
            ...queueOptionsFrom(config, 'worker'),
            resultsBufferMax: config.get('RESULTS_BUFFER_MAX', { infer: true }),
          }),
        }),
        ResultsModule.forRootAsync({
          ...fromConfig,
          useFactory: (config: ConfigService<WorkerEnv, true>) => resultsOptionsFrom(config, 'worker'),
        }),
        ContractsModule.forRootAsync({
          ...fromConfig,
          useFactory: (config: ConfigService<WorkerEnv, true>) => ({
            demoTasks: structure.demoTasks ?? false,
            faultTasks: structure.faultTasks ?? false,
            contracts: structure.contracts,
            defaults: {
              maxRetries: config.get('DEFAULT_MAX_RETRIES', { infer: true }),
              timeoutMs: config.get('DEFAULT_TIMEOUT_MS', { infer: true }),
              backoff: workerOptionsFrom(config).backoff,
            },
          }),
        }),
        MetricsModule.forWorker(),
        ...(structure.metricsRoute === false ? [] : [MetricsModule.endpoint()]),
        TerminusModule,
        DiscoveryModule,
      ],
      controllers: [HealthController],
      providers: [
        // The worker's components read ConfigService: here it is the worker's.
        { provide: ConfigService, useExisting: WORKER_CONFIG },
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
      // The run registry and the worker's lifecycle, for an application that wants to look (or wait) at them.
      exports: [ContractsModule, QueueModule],
    };
  }
}
