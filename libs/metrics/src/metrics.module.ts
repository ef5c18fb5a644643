import { DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { apiMetricProviders } from './providers/api-metrics.providers';
import { workerMetricProviders } from './providers/worker-metrics.providers';

/**
 * Metric definitions as injectable providers (`@InjectMetric(METRIC.x)`), on prom-client's default
 * registry. The /metrics endpoint (with the default process metrics) is a separate module,
 * `MetricsModule.endpoint()`, mounted on whichever HTTP listener serves METRICS_PORT.
 */
@Module({})
export class MetricsModule {
  static forApi(): DynamicModule {
    return { module: MetricsModule, providers: apiMetricProviders, exports: apiMetricProviders };
  }

  static forWorker(): DynamicModule {
    return { module: MetricsModule, providers: workerMetricProviders, exports: workerMetricProviders };
  }

  /** GET /metrics plus Node's default process metrics; register once per process. */
  static endpoint(): DynamicModule {
    return PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } });
  }
}
