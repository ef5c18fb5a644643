export * from './task-contract';
export * from './registry';
export * from './contracts.module';
export * from './queue-names';
export * from './demo/demo.contracts';
export * from './faults/chaos.contract';
export * from './errors';
export * from './task-status';
