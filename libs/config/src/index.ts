export * from './env';
export * from './queue-options';
export * from './logger';
export * from './shutdown';
