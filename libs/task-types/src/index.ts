export * from './json-schema-contract';
export * from './runtime-task-types';
export * from './task-types.module';
