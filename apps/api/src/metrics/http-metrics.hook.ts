import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { Histogram } from 'prom-client';
import { InjectMetric, METRIC } from '@app/metrics';

/** Observes every response (including Fastify's own 413/415) by route pattern, not raw URL. */
@Injectable()
export class HttpMetricsHook {
  constructor(@InjectMetric(METRIC.httpRequestDuration) private readonly duration: Histogram<string>) {}

  register(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      this.duration.observe(
        {
          method: request.method,
          route: request.routeOptions?.url ?? 'unmatched',
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}
