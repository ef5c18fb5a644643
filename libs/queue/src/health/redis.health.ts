import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { QueueInspector } from '../inspector';

/**
 * The options of every `@HealthCheck()` (api and worker). `swaggerDocumentation: false`: the api documents its
 * health routes itself and the worker has no OpenAPI document, and by default terminus require()s
 * @nestjs/swagger for its decorators (5 MiB of the worker's RSS after boot, 9 MiB of its peak in the drain).
 * Options replace terminus's defaults as a whole, so `noCache` must be said too: probes and proxies never get a
 * cached answer (Cache-Control: no-cache, no-store, must-revalidate).
 */
export const HEALTH_CHECK_OPTIONS = { noCache: true, swaggerDocumentation: false } as const;

/**
 * Readiness: Redis answers PING within the command timeout and accepts writes (not out of memory
 * under noeviction, not a read-only replica): while it refuses writes every submit would be a 503.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly inspector: QueueInspector,
  ) {}

  async isHealthy(key = 'redis') {
    const indicator = this.health.check(key);
    try {
      await this.inspector.ping();
      await this.inspector.checkWritable();
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
