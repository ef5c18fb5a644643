import { DynamicModule, FactoryProvider, Module, ModuleMetadata } from '@nestjs/common';
import { TaskqClient, TaskqClientOptions } from '@app/client';

export interface TaskqClientModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: FactoryProvider['inject'];
  useFactory: (...args: any[]) => TaskqClientOptions | Promise<TaskqClientOptions>;
}

/**
 * The producer side for a Nest application: injects a `TaskqClient` (the typed HTTP client of the api),
 * so the application that runs tasks can submit them too, through the api and its checks (contracts,
 * credentials, limits), as any other producer does.
 */
@Module({})
export class TaskqClientModule {
  static forRoot(options: TaskqClientOptions): DynamicModule {
    return {
      module: TaskqClientModule,
      providers: [{ provide: TaskqClient, useValue: new TaskqClient(options) }],
      exports: [TaskqClient],
    };
  }

  static forRootAsync(options: TaskqClientModuleAsyncOptions): DynamicModule {
    return {
      module: TaskqClientModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: TaskqClient,
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) => new TaskqClient(await options.useFactory(...args)),
        },
      ],
      exports: [TaskqClient],
    };
  }
}
