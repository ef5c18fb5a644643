export * from './results.module';
export * from './results.options';
export { RESULTS_OPTIONS } from './results.module-definition';
export * from './result-store';
export * from './task-history';
export * from './errors';
