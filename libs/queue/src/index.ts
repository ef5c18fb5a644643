export * from './queue.module';
export * from './queue.options';
export { QUEUE_OPTIONS, QUEUE_OPTIONS_TYPE, QUEUE_ASYNC_OPTIONS_TYPE } from './queue.module-definition';
export * from './queue.constants';
export * from './task';
export { toTaskRecord, UNSTORED_SETTINGS, workerOfToken } from './task-record';
export { encodeBackoff, decodeBackoff } from './backoff-field';
export * from './producer';
export * from './consumer';
export * from './outcomes/run-outcome-rules';
export * from './inspector';
export { TASK_CURSOR_PATTERN, MAX_SCANNED_PER_PAGE, SEARCH_LIMITS, matchesSearch } from './task-listing';
export type { ListPage } from './task-listing';
export * from './dead-letter.admin';
export * from './archive';
export * from './queue.admin';
export { QueueRegistry } from './queue-registry';
export { SchemaMigration, KEY_SCHEMA_VERSION, MIGRATION_LOCK_MS } from './migration/schema-migration';
export type { MigrationOutcome } from './migration/schema-migration';
export * from './task-waiter';
export * from './workers';
export * from './remote-work/remote-work';
export * from './lifecycle/service-loop';
export * from './events/queue-events';
export * from './errors/queue-error';
export * from './health/redis.health';
export {
  queueKeys,
  queueRegistryKey,
  queueChannels,
  queueOfTaskId,
  isTaskId,
  taskKey,
  TASK_ID_SOURCE,
  taskIdPrefix,
} from './keys/queue-keys';
export { workerRegistryKey } from './keys/queue-keys';
export { scheduleNamesKey, schedulesIndexedKey, queueOfScheduleId, isScheduleId } from './keys/queue-keys';
export { schemaVersionKey, schemaMigrationLockKey } from './keys/queue-keys';
export * from './schedules/schedule';
export * from './schedules/schedule-timing';
export { ScheduleStore, sameDefinition } from './schedules/schedule-store';
export * from './task-types/task-type-store';
export { taskTypesKey } from './keys/queue-keys';
export type { QueueKeys } from './keys/queue-keys';
export { InjectRedis } from './redis/inject-redis.decorator';
export type { QueueRedis, ScriptDefinition } from './scripts/script-loader';
export { defineScripts, loadScripts } from './scripts/script-loader';
export { defineScript, scriptReply } from './scripts/script';
export type { Script, ScriptArg } from './scripts/script';
export type { RedisClient } from './redis/redis-client';
export { createRedisClient } from './redis/redis-client';
