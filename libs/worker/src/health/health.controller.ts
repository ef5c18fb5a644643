import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { HEALTH_CHECK_OPTIONS, RedisHealthIndicator } from '@app/queue';

/** On the worker's metrics port: liveness (the event loop answers) and readiness (Redis answers). */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck(HEALTH_CHECK_OPTIONS)
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck(HEALTH_CHECK_OPTIONS)
  ready() {
    return this.health.check([() => this.redis.isHealthy()]);
  }
}
