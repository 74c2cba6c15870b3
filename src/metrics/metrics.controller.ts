import { Controller, Get, Header, Headers, Inject } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/auth.guard';
import { OperatorAccess } from '../auth/operator-access';
import { ApiProblem } from '../shared/api-problem';
import { Metrics } from './metrics';

/**
 * Prometheus text exposition. Open like health when METRICS_TOKEN is unset (scrape it from
 * inside the network); with it set, only a scraper holding that token reads it. Never rate
 * limited: a scraper must not lose samples because a busy client shares its address.
 */
@Public()
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(OperatorAccess) private readonly access: OperatorAccess,
  ) {}

  @Get()
  @RouteConfig({ rateLimit: false })
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(@Headers('authorization') authorization: string | undefined): Promise<string> {
    if (!this.access.mayScrapeMetrics(authorization)) {
      throw new ApiProblem(
        401,
        'UNAUTHENTICATED',
        'Send Authorization: Bearer <METRICS_TOKEN> to read the metrics.',
        { 'www-authenticate': 'Bearer' },
      );
    }
    return this.metrics.registry.metrics();
  }
}
