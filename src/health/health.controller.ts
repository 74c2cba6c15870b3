import { Controller, Get, Headers, Inject, ServiceUnavailableException } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiOperation } from '@nestjs/swagger';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Public } from '../auth/auth.guard';
import { OperatorAccess } from '../auth/operator-access';
import type { EventStore, SubjectKeyStore } from '../event-sourcing';
import { ApiProblem } from '../shared/api-problem';
import { EVENT_STORE, SUBJECT_KEY_STORE } from '../event-sourcing';
import { ProjectionRunner } from '../projections/projection-runner';

/**
 * Liveness and readiness for orchestrators and load balancers; no token needed, and never rate
 * limited (a probe refused with 429 would take a healthy instance out of service). Without a
 * token they say only whether the service is up: store error texts name hosts and databases,
 * and positions tell outsiders how busy the service is.
 */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(OperatorAccess) private readonly access: OperatorAccess,
    @Inject(SUBJECT_KEY_STORE) private readonly keys: SubjectKeyStore,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @RouteConfig({ rateLimit: false })
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ summary: 'The process is up and serving HTTP: {status: "ok"}' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready to serve: the event store answers and the projections run (503 otherwise). Each
   * check's state, the projections' position and lag come only with an auditor or
   * programme_admin token, or the metrics token.
   */
  @Get('ready')
  @RouteConfig({ rateLimit: false })
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary:
      'Ready once the stores (events, keys) answer and projections run ({status}, or 503 problem+json); each check with an auditor, programme_admin or metrics token',
  })
  async ready(
    @Headers('authorization') authorization: string | undefined,
  ): Promise<HealthCheckResult | { status: HealthCheckResult['status'] }> {
    const detailed = await this.access.mayReadHealthDetails(authorization);
    let result: HealthCheckResult;
    try {
      result = await this.check();
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      throw notReady(error.getResponse() as HealthCheckResult, detailed);
    }
    return detailed ? result : { status: result.status };
  }

  private check(): Promise<HealthCheckResult> {
    return this.health.check([
      () =>
        this.indicators
          .check('eventStore')
          .attempt(() => this.store.ping())
          .withTimeout(2000),
      // Personal data cannot be written or read without the key store.
      () =>
        this.indicators
          .check('keyStore')
          .attempt(() => this.keys.ping())
          .withTimeout(2000),
      // Projections must be running; their lag (events not yet applied) is reported.
      () =>
        this.indicators
          .check('projections')
          .attempt(async () => {
            if (this.runner.error) throw this.runner.error;
            const head = await this.store.headPosition();
            return {
              position: this.runner.position,
              lag: Math.max(0, head - this.runner.position),
            };
          })
          .withTimeout(2000),
    ]);
  }
}

// The 503 problem document; which checks failed, and why, only for those allowed to see it.
function notReady(result: HealthCheckResult, detailed: boolean): ApiProblem {
  const headers = { 'retry-after': '5' };
  if (!detailed) return new ApiProblem(503, 'NOT_READY', 'The service is not ready.', headers);
  const details = result.details ?? {};
  const down = Object.keys(details).filter((key) => details[key]?.status !== 'up');
  return new ApiProblem(
    503,
    'NOT_READY',
    `Not ready: ${down.join(', ')} did not answer.`,
    headers,
    { checks: details },
  );
}
