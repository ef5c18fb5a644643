import { Inject, Injectable } from '@nestjs/common';
import { QueueError, QueueErrorCode, redisCall } from '../errors/queue-error';
import { taskTypesKey } from '../keys/queue-keys';
import { QUEUE_OPTIONS } from '../queue.module-definition';
import { QueueModuleOptions } from '../queue.options';
import { InjectRedis } from '../redis/inject-redis.decorator';
import { QueueRedis } from '../scripts/script-loader';

/** The field of the task types hash that counts changes; a type name never holds `#`. */
const VERSION_FIELD = '#version';

/** At most this many task types defined at run time per deployment (each is compiled by every api replica). */
export const MAX_RUNTIME_TASK_TYPES = 1000;

/** A task type defined at run time, as PUT /task-types/{name} gave it (the api checked every field). */
export interface TaskTypeDefinition {
  /** A JSON Schema (2020-12) for the payload. */
  payload_schema: unknown;
  max_retries?: number;
  timeout_ms?: number;
  backoff?: { base_ms: number; max_ms?: number };
  /** Where its tasks go when a submit names no queue. */
  queue?: string;
  description?: string;
}

export interface StoredTaskType extends TaskTypeDefinition {
  name: string;
  /** Epoch ms. */
  created_at: number;
  updated_at: number;
}

/** Every runtime task type and the change count they were read at. */
export interface TaskTypeSnapshot {
  version: number;
  types: StoredTaskType[];
}

function parseStored(name: string, json: string): StoredTaskType | undefined {
  try {
    const value = JSON.parse(json) as Omit<StoredTaskType, 'name'>;
    return { ...value, name };
  } catch {
    return undefined;
  }
}

/**
 * Task types defined at run time, in one Redis hash (one key, so one slot on a Cluster). Every write
 * bumps the hash's `#version` in the same MULTI, so a replica learns of any change by reading one field.
 */
@Injectable()
export class TaskTypeStore {
  private readonly key: string;

  constructor(
    @InjectRedis() private readonly redis: QueueRedis,
    @Inject(QUEUE_OPTIONS) options: QueueModuleOptions,
  ) {
    this.key = taskTypesKey(options.prefix);
  }

  /** The change count: 0 before the first change. */
  async version(): Promise<number> {
    const value = await redisCall('taskTypeVersion', () => this.redis.hget(this.key, VERSION_FIELD));
    return Number(value ?? 0);
  }

  async snapshot(): Promise<TaskTypeSnapshot> {
    const all = await redisCall('listTaskTypes', () => this.redis.hgetall(this.key));
    const types: StoredTaskType[] = [];
    for (const [name, json] of Object.entries(all)) {
      if (name === VERSION_FIELD) continue;
      const stored = parseStored(name, json);
      if (stored) types.push(stored);
    }
    types.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { version: Number(all[VERSION_FIELD] ?? 0), types };
  }

  async get(name: string): Promise<StoredTaskType | undefined> {
    const json = await redisCall('getTaskType', () => this.redis.hget(this.key, name));
    return json === null ? undefined : parseStored(name, json);
  }

  /**
   * Creates or replaces a type (its created_at kept). LimitReached for a new type past
   * MAX_RUNTIME_TASK_TYPES, counted before the write: concurrent creates may pass it by one each.
   */
  async put(
    name: string,
    definition: TaskTypeDefinition,
    now = Date.now(),
  ): Promise<{ type: StoredTaskType; created: boolean }> {
    // One round trip for both reads: the type as it is (its created_at) and how many there are.
    const [json, count] = repliesOf(
      'putTaskType',
      await redisCall('putTaskType', () => this.redis.pipeline().hget(this.key, name).hlen(this.key).exec()),
    ) as [string | null, number];
    const existing = json === null ? undefined : parseStored(name, json);
    // The version field is one of the hash's fields once anything was written.
    if (!existing && count - (count > 0 ? 1 : 0) >= MAX_RUNTIME_TASK_TYPES) {
      throw new QueueError(
        QueueErrorCode.LimitReached,
        'putTaskType',
        `${MAX_RUNTIME_TASK_TYPES} task types are defined at run time, the most a deployment may hold; delete one first`,
      );
    }
    const stored = { ...definition, created_at: existing?.created_at ?? now, updated_at: now };
    const [added] = repliesOf(
      'putTaskType',
      await redisCall('putTaskType', () =>
        this.redis.multi().hset(this.key, name, JSON.stringify(stored)).hincrby(this.key, VERSION_FIELD, 1).exec(),
      ),
    );
    return { type: { name, ...stored }, created: added === 1 };
  }

  /** false when no runtime type has this name. */
  async remove(name: string): Promise<boolean> {
    const [removed] = repliesOf(
      'deleteTaskType',
      await redisCall('deleteTaskType', () =>
        this.redis.multi().hdel(this.key, name).hincrby(this.key, VERSION_FIELD, 1).exec(),
      ),
    );
    return removed === 1;
  }
}

/** The replies of a pipeline or MULTI; Unavailable when it was discarded or a command in it failed. */
function repliesOf(op: string, replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new QueueError(QueueErrorCode.Unavailable, op, 'the transaction was discarded');
  const failed = replies.find(([error]) => error);
  if (failed) throw new QueueError(QueueErrorCode.Unavailable, op, failed[0]!.message);
  return replies.map(([, value]) => value);
}
