import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from '@app/auth';
import { loggerParams, queueOptionsFrom, resultsOptionsFrom, validateEnv } from '@app/config';
import { ContractsModule } from '@app/contracts';
import { MetricsModule } from '@app/metrics';
import { QueueModule } from '@app/queue';
import { ResultsModule } from '@app/results';
import { TaskTypesModule } from '@app/task-types';
import { AccessHook } from './auth/access.hook';
import { authOptionsFrom } from './auth/auth-options';
import { KeysController } from './auth/keys.controller';
import { ApiEnv } from './config/api.env';
import { DlqController } from './dlq/dlq.controller';
import { HealthController } from './health/health.controller';
import { HttpMetricsHook } from './metrics/http-metrics.hook';
import { QueuesController } from './queues/queues.controller';
import { SchedulesController } from './schedules/schedules.controller';
import { SchedulesService } from './schedules/schedules.service';
import { SubmitController } from './submit/submit.controller';
import { SubmitService } from './submit/submit.service';
import { TaskTypesController } from './task-types/task-types.controller';
import { TasksController } from './tasks/tasks.controller';
import { WorkersController } from './workers/workers.controller';

import { RemoteWorkRecovery } from './work/remote-work-recovery';
import { WorkController } from './work/work.controller';
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv(ApiEnv) }),
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<ApiEnv, true>) =>
        loggerParams(config.get('LOG_LEVEL', { infer: true }), 'api'),
    }),
    QueueModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<ApiEnv, true>) => queueOptionsFrom(config, 'api'),
    }),
    ResultsModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<ApiEnv, true>) => resultsOptionsFrom(config, 'api'),
    }),
    ContractsModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<ApiEnv, true>) => ({
        demoTasks: config.get('DEMO_TASKS', { infer: true }),
        faultTasks: config.get('FAULT_TASKS', { infer: true }),
        defaults: {
          maxRetries: config.get('DEFAULT_MAX_RETRIES', { infer: true }),
          timeoutMs: config.get('DEFAULT_TIMEOUT_MS', { infer: true }),
          // What an HTTP worker's failed run waits (the api decides its retries).
          backoff: {
            baseMs: config.get('RETRY_BACKOFF_BASE_MS', { infer: true }),
            maxMs: config.get('RETRY_BACKOFF_MAX_MS', { infer: true }),
          },
        },
      }),
    }),
    AuthModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<ApiEnv, true>) => authOptionsFrom(config),
    }),
    MetricsModule.forApi(),
    TaskTypesModule,
    TerminusModule,
  ],
  controllers: [
    SubmitController,
    TasksController,
    QueuesController,
    DlqController,
    HealthController,
    WorkersController,
    SchedulesController,
    KeysController,
    TaskTypesController,
    WorkController,
  ],
  providers: [SubmitService, HttpMetricsHook, SchedulesService, AccessHook, RemoteWorkRecovery],
})
export class ApiModule {}
