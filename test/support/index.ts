export * from './redis';
export * from './invariants';
