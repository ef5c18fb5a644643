/**
 * The taskq worker as a library for any Nest application: the module, the decorator a handler wears,
 * what a handler gets, and the pieces of a task type it defines in code. `apps/worker` is this module
 * with the demo pack and the environment as its settings.
 */
export {
  TaskqWorkerModule,
  workerConfig,
  type TaskqWorkerModuleAsyncOptions,
  type TaskqWorkerModuleOptions,
  type TaskqWorkerSettings,
} from './taskq-worker.module';
export { TaskqClientModule, type TaskqClientModuleAsyncOptions } from './taskq-client.module';
export { TaskHandler, type ThreadIsolation } from './dispatch/task-handler.decorator';
export { Cron, TaskSchedule, type TaskScheduleOptions } from './schedules/task-schedule.decorator';
export type { TaskContext } from './run/task-context';
export type { ThreadTaskContext, ThreadTaskFunction } from './threads/thread-protocol';
export { WorkerEnv } from './config/worker.env';
/** A pass of the PostgreSQL result store's retention (RESULTS_RETENTION_DAYS) on demand: `app.get(RetentionSweeper).runOnce()`. */
export { RetentionSweeper } from './results/retention-sweeper';
export { dtoContract, NonRetryableError } from '@app/contracts';
export type { BackoffOptions, TaskContract, TaskDefaults } from '@app/contracts';
export { TaskqClient, TaskqHttpError, TaskqUnreachableError } from '@app/client';
export type { TaskqClientOptions } from '@app/client';
