import { Module } from '@nestjs/common';
import { MetricsModule } from '@app/metrics';

/** The api's second listener (METRICS_PORT, default 9100): GET /metrics only, off the public port. */
@Module({ imports: [MetricsModule.endpoint()] })
export class MetricsServerModule {}
