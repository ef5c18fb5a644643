import { DynamicModule, Module } from '@nestjs/common';
import { CpuHandler } from './cpu.handler';
import { EchoHandler } from './echo.handler';
import { EmailHandler } from './email.handler';
import { FailHandler } from './fail.handler';
import { SleepHandler } from './sleep.handler';

/** The demo task pack (email, echo, sleep, fail, cpu); on unless DEMO_TASKS=false. */
@Module({})
export class DemoHandlersModule {
  static register(enabled: boolean): DynamicModule {
    const providers = enabled ? [EmailHandler, EchoHandler, SleepHandler, FailHandler, CpuHandler] : [];
    return { module: DemoHandlersModule, providers };
  }
}
