export * from './redis';
export * from './invariants';
export * from './processes';
export * from './app-stack';
export * from './queue-harness';
export * from './queue-options';
export * from './postgres';
export * from './tcp-proxy';
