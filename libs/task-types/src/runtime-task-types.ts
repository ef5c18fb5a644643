import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PayloadViolation, TaskContract, TaskContractRegistry } from '@app/contracts';
import { QueueError, QueueErrorCode, StoredTaskType, TaskTypeDefinition, TaskTypeStore } from '@app/queue';
import { jsonSchemaContract, TaskTypeSchemaCompiler } from './json-schema-contract';

/** How often a replica reads the change count of the runtime task types: a change is seen within this. */
export const TASK_TYPES_REFRESH_MS = 500;

interface CompiledType {
  contract: TaskContract<unknown>;
  release: () => void;
}

/** The outcome of a PUT: the violations of a schema that does not compile, or the stored type. */
export type PutOutcome =
  { ok: false; violations: PayloadViolation[] } | { ok: true; type: StoredTaskType; created: boolean };

/**
 * The task types defined at run time, as this process accepts them: read from the TaskTypeStore at
 * boot and whenever its change count moves (polled every TASK_TYPES_REFRESH_MS, one HGET), compiled
 * once per definition, and installed into the TaskContractRegistry beside the types defined in code.
 * A write through this replica is installed before its answer, so its caller reads its own write.
 */
@Injectable()
export class RuntimeTaskTypes implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RuntimeTaskTypes.name);
  private readonly compiler = new TaskTypeSchemaCompiler();
  /** By the stored definition's JSON, so an unchanged type is not compiled again. */
  private compiled = new Map<string, CompiledType>();
  private definitions = new Map<string, StoredTaskType>();
  private version = -1;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private failing = false;

  constructor(
    private readonly store: TaskTypeStore,
    private readonly registry: TaskContractRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh().catch((error) => this.reportFailure(error));
    this.timer = setInterval(() => void this.poll(), TASK_TYPES_REFRESH_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** The runtime types this process accepts, by name. */
  list(): StoredTaskType[] {
    return [...this.definitions.values()];
  }

  get(name: string): StoredTaskType | undefined {
    return this.definitions.get(name);
  }

  /**
   * Defines or replaces a type. Conflict for a type defined in code; the schema's violations when it
   * does not compile (nothing written); LimitReached past MAX_RUNTIME_TASK_TYPES.
   */
  async put(name: string, definition: TaskTypeDefinition): Promise<PutOutcome> {
    this.refuseCodeType(name, 'define');
    const compiled = this.compiler.compile(definition.payload_schema);
    if (!compiled.ok) return compiled;
    compiled.release();
    const { type, created } = await this.store.put(name, definition);
    await this.refresh();
    return { ok: true, type, created };
  }

  /** NotFound when no runtime type has this name; Conflict for a type defined in code. */
  async remove(name: string): Promise<void> {
    this.refuseCodeType(name, 'delete');
    if (!(await this.store.remove(name))) {
      throw new QueueError(QueueErrorCode.NotFound, 'deleteTaskType', `no task type "${name}" is defined at run time`);
    }
    await this.refresh();
  }

  /**
   * Reads every runtime type and installs them, one refresh at a time: a caller waits for a running one
   * and then reads again, since that one may have read before the caller's write.
   */
  async refresh(): Promise<void> {
    while (this.refreshing) await this.refreshing;
    this.refreshing = this.store
      .snapshot()
      .then((snapshot) => this.install(snapshot.types, snapshot.version))
      .finally(() => (this.refreshing = undefined));
    await this.refreshing;
  }

  private refuseCodeType(name: string, verb: 'define' | 'delete'): void {
    if (this.registry.sourceOf(name) === 'code') {
      throw new QueueError(
        QueueErrorCode.Conflict,
        verb === 'define' ? 'putTaskType' : 'deleteTaskType',
        `task type "${name}" is defined in code (a contract of this build); it cannot be ${verb}d at run time. Pick another name`,
      );
    }
  }

  private async poll(): Promise<void> {
    if (this.refreshing) return;
    try {
      if ((await this.store.version()) !== this.version) await this.refresh();
      if (this.failing) this.logger.log({ msg: 'runtime task types are read again' });
      this.failing = false;
    } catch (error) {
      this.reportFailure(error);
    }
  }

  /** One warning per streak of failed reads: the types installed last stay in use meanwhile. */
  private reportFailure(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn({
      msg: 'cannot read the runtime task types from Redis; the ones read last stay in use until Redis answers',
      error: error instanceof Error ? error.message : String(error),
    });
  }

  private install(types: StoredTaskType[], version: number): void {
    const compiled = new Map<string, CompiledType>();
    for (const type of types) {
      const key = JSON.stringify(type);
      const known = this.compiled.get(key) ?? compiled.get(key);
      if (known) {
        compiled.set(key, known);
        continue;
      }
      const result = this.compiler.compile(type.payload_schema);
      if (!result.ok) {
        // Checked when it was stored; a schema that no longer compiles (another release's ajv) is skipped, loudly.
        this.logger.error({
          msg: `runtime task type "${type.name}" does not compile and is not accepted; define it again with PUT /task-types/${type.name}`,
          violations: result.violations,
        });
        continue;
      }
      compiled.set(key, {
        release: result.release,
        contract: jsonSchemaContract({
          type: type.name,
          description: type.description ?? '',
          validate: result.validate,
          queue: type.queue,
          defaults: {
            maxRetries: type.max_retries,
            timeoutMs: type.timeout_ms,
            backoff: type.backoff && { baseMs: type.backoff.base_ms, maxMs: type.backoff.max_ms },
          },
        }),
      });
    }
    for (const [key, old] of this.compiled) if (!compiled.has(key)) old.release();
    this.compiled = compiled;
    this.definitions = new Map(types.map((type) => [type.name, type]));
    this.registry.setRuntimeTypes([...compiled.values()].map((entry) => entry.contract));
    this.version = version;
  }
}
