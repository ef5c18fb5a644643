import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { TaskContract, TaskContractRegistry } from '@app/contracts';
import { TaskContext } from '../run/task-context';
import { TASK_HANDLER_METADATA, TaskHandlerMetadata } from './task-handler.decorator';

export interface RegisteredHandler {
  type: string;
  contract: TaskContract<unknown>;
  run: (payload: unknown, context: TaskContext) => unknown;
  /** "EmailHandler.send", for messages. */
  name: string;
}

/**
 * Finds every `@TaskHandler` method at boot and checks them against the contracts: the worker
 * refuses to start when a contract has no handler or two, or a handler has no contract.
 */
@Injectable()
export class TaskHandlerExplorer implements OnModuleInit {
  private readonly handlers = new Map<string, RegisteredHandler>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly contracts: TaskContractRegistry,
  ) {}

  onModuleInit(): void {
    const found: Omit<RegisteredHandler, 'contract'>[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method] as (...args: unknown[]) => unknown;
        const meta = this.reflector.get<TaskHandlerMetadata | undefined>(TASK_HANDLER_METADATA, fn);
        if (meta) {
          found.push({
            type: meta.type,
            run: fn.bind(instance),
            name: `${prototype.constructor.name}.${method}`,
          });
        }
      }
    }
    const problems = checkHandlers(this.contracts, found);
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
}

/** Every contract has exactly one handler and every handler has a contract. */
export function checkHandlers(contracts: TaskContractRegistry, handlers: { type: string; name: string }[]): string[] {
  const problems: string[] = [];
  const byType = new Map<string, string[]>();
  for (const handler of handlers) byType.set(handler.type, [...(byType.get(handler.type) ?? []), handler.name]);
  for (const type of contracts.types()) {
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
