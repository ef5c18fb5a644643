import { DynamicModule, Module } from '@nestjs/common';
import { ChaosHandler } from './chaos.handler';
import { ThreadChaosHandler } from './thread-chaos.handler';

/** The fault-injection task pack (chaos, thread_chaos); loaded only with FAULT_TASKS=true, for test/faults. */
@Module({})
export class FaultHandlersModule {
  static register(enabled: boolean): DynamicModule {
    return { module: FaultHandlersModule, providers: enabled ? [ChaosHandler, ThreadChaosHandler] : [] };
  }
}
