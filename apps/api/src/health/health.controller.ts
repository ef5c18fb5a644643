import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { HEALTH_CHECK_OPTIONS, RedisHealthIndicator } from '@app/queue';
import { Public } from '../auth/access';
import { NoQueryParameters } from '../filters/error-responses';
import { HealthDownDto, HealthUpDto } from './dto/health.dto';

@ApiTags('health')
@NoQueryParameters()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get('live')
  @Public()
  @HealthCheck(HEALTH_CHECK_OPTIONS)
  @ApiOperation({ operationId: 'live', summary: 'Liveness: the process answers' })
  @ApiOkResponse({ type: HealthUpDto })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @Public()
  @HealthCheck(HEALTH_CHECK_OPTIONS)
  @ApiOperation({ operationId: 'ready', summary: 'Readiness: Redis answers and accepts writes' })
  @ApiOkResponse({ type: HealthUpDto, description: 'Redis answers and accepts writes' })
  @ApiServiceUnavailableResponse({
    type: HealthDownDto,
    description:
      'Not ready: Redis does not answer or refuses writes (out of memory, a read-only replica; error.redis.message says why), or the api is shutting down',
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.redis.isHealthy()]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // Terminus's result, not the generic error body: it says which check is down and why.
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
