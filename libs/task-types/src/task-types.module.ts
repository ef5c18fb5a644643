import { Module } from '@nestjs/common';
import { RuntimeTaskTypes } from './runtime-task-types';

/**
 * Task types defined at run time: RuntimeTaskTypes keeps the process's TaskContractRegistry in step
 * with the TaskTypeStore. Needs QueueModule and ContractsModule (both global) in the application.
 */
@Module({
  providers: [RuntimeTaskTypes],
  exports: [RuntimeTaskTypes],
})
export class TaskTypesModule {}
