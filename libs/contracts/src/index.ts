export * from './task-contract';
export * from './registry';
export * from './queue-names';
export * from './demo/demo.contracts';
export * from './errors';
