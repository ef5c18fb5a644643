export * from './metric-names';
export * from './metrics.module';
export * from './queue-stats.cache';
export * from './schedule-stats.cache';
export { InjectMetric } from '@willsoto/nestjs-prometheus';
