import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { QueueInspector } from '../inspector';

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
