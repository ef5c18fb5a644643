import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { TaskContract, TaskContractRegistry } from '@app/contracts';
import { WORKER_OPTIONS, WorkerOptions } from '../config/worker.options';
import { TaskContext } from '../run/task-context';
import { resolveThreadFile } from '../threads/thread-file';
import { TASK_HANDLER_METADATA, TaskHandlerMetadata } from './task-handler.decorator';

interface HandlerBase {
  type: string;
  contract: TaskContract<unknown>;
  /** "EmailHandler.send", or "CpuHandler (thread: …/cpu.thread.js)", for messages. */
  name: string;
}

/** A `@TaskHandler` method, called on the event loop. */
export interface EventLoopHandler extends HandlerBase {
  isolation: 'event-loop';
  run: (payload: unknown, context: TaskContext) => unknown;
}

/** A thread-isolated type: the function `exportName` of `file`, called in a worker thread. */
export interface ThreadHandler extends HandlerBase {
  isolation: 'thread';
  /** The module's resolved path (.js in a build, .ts from source). */
  file: string;
  exportName: string;
}

export type RegisteredHandler = EventLoopHandler | ThreadHandler;

type FoundHandler = Omit<EventLoopHandler, 'contract'> | Omit<ThreadHandler, 'contract'>;

/**
 * Finds every `@TaskHandler` at boot (on methods; on classes for thread-isolated types) and checks them
 * against the contracts: the worker refuses to start when a contract has no handler or two, a handler
 * has no contract, a thread-isolated type's module is missing, or such a type has no thread to run in.
 */
@Injectable()
export class TaskHandlerExplorer implements OnModuleInit {
  private readonly handlers = new Map<string, RegisteredHandler>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly contracts: TaskContractRegistry,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
  ) {}

  onModuleInit(): void {
    const found: FoundHandler[] = [];
    const problems: string[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      const className = prototype.constructor.name;
      const onClass = this.reflector.get<TaskHandlerMetadata | undefined>(TASK_HANDLER_METADATA, prototype.constructor);
      if (onClass?.isolation === 'thread') {
        const file = resolveThreadFile(onClass.file);
        if (typeof file === 'string') {
          found.push({
            type: onClass.type,
            isolation: 'thread',
            file,
            exportName: onClass.exportName,
            name: className,
          });
        } else {
          problems.push(`${className} (task type "${onClass.type}", isolation: 'thread'): ${file.problem}`);
        }
      } else if (onClass) {
        problems.push(
          `${className} has @TaskHandler('${onClass.type}') on its class: put it on the method that handles the type ` +
            `(only a thread-isolated handler, whose code is a function in its own file, goes on a class)`,
        );
      }
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method] as (...args: unknown[]) => unknown;
        const meta = this.reflector.get<TaskHandlerMetadata | undefined>(TASK_HANDLER_METADATA, fn);
        if (meta?.isolation === 'thread') {
          problems.push(
            `${className}.${method}: @TaskHandler('${meta.type}', { isolation: 'thread' }) goes on the class: the ` +
              `type's code is the function its file exports, run in a worker thread, not this method`,
          );
        } else if (meta) {
          found.push({
            type: meta.type,
            isolation: 'event-loop',
            run: fn.bind(instance),
            name: `${className}.${method}`,
          });
        }
      }
    }
    problems.push(...checkHandlers(this.contracts, found), ...checkThreadPool(found, this.options.threads.size));
    if (problems.length) {
      throw new Error(`Task handlers do not match the task contracts:\n  ${problems.join('\n  ')}`);
    }
    for (const handler of found) {
      this.handlers.set(handler.type, { ...handler, contract: this.contracts.get(handler.type)! });
    }
  }

  get(type: string): RegisteredHandler | undefined {
    return this.handlers.get(type);
  }

  types(): string[] {
    return [...this.handlers.keys()];
  }

  /** The thread-isolated types, whose modules the thread pool loads at boot. */
  threadHandlers(): ThreadHandler[] {
    return [...this.handlers.values()].filter((handler): handler is ThreadHandler => handler.isolation === 'thread');
  }
}

/** Every contract has exactly one handler and every handler has a contract. */
export function checkHandlers(contracts: TaskContractRegistry, handlers: { type: string; name: string }[]): string[] {
  const problems: string[] = [];
  const byType = new Map<string, string[]>();
  for (const handler of handlers) byType.set(handler.type, [...(byType.get(handler.type) ?? []), handler.name]);
  for (const type of contracts.codeTypes()) {
    const names = byType.get(type) ?? [];
    if (names.length === 0) problems.push(`task type "${type}" has a contract but no @TaskHandler`);
    if (names.length > 1) problems.push(`task type "${type}" has ${names.length} handlers: ${names.join(', ')}`);
  }
  for (const [type, names] of byType) {
    if (!contracts.get(type)) {
      problems.push(`${names.join(', ')} handles "${type}", which has no contract in libs/contracts (add it there)`);
    }
  }
  return problems;
}

/** A thread-isolated type needs at least one thread to run in. */
export function checkThreadPool(handlers: { type: string; isolation: string }[], threads: number): string[] {
  const isolated = handlers.filter((handler) => handler.isolation === 'thread').map((handler) => `"${handler.type}"`);
  if (!isolated.length || threads >= 1) return [];
  return [
    `task type${isolated.length > 1 ? 's' : ''} ${isolated.join(', ')} run${isolated.length > 1 ? '' : 's'} in worker ` +
      `threads (isolation: 'thread') but WORKER_THREADS=0: set WORKER_THREADS to 1 or more (0 suits only a worker ` +
      `whose task types all run on the event loop)`,
  ];
}
