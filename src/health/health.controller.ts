import { Controller, Get, Headers, Inject, ServiceUnavailableException } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  type HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Public } from '../auth/auth.guard';
import { OperatorAccess } from '../auth/operator-access';
import type { EventStore, SubjectKeyStore } from '../event-sourcing';
import { ApiProblem } from '../shared/api-problem';
import { EVENT_STORE, SUBJECT_KEY_STORE } from '../event-sourcing';
import { ProjectionRunner } from '../projections/projection-runner';
import { projectionsTrouble, RETRY_GRACE_MS } from './projections-readiness';

/** One read model, as readiness reports it to privileged callers. */
type ReadModelFigures = {
  readonly position: number;
  readonly deadLetters: number;
  readonly retrying?: {
    readonly since: string;
    readonly attempts: number;
    readonly lastError: string;
    readonly kind: string;
  };
};

/** The projections check's figures: the lowest position, the lag behind the log, dead letters. */
type ProjectionFigures = {
  readonly position: number;
  readonly lag: number;
  readonly deadLetters: number;
  readonly readModels: Record<string, ReadModelFigures>;
};

class LiveDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
}

const checks: { type: 'object'; additionalProperties: SchemaObject } = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['up', 'degraded', 'down'] } },
    required: ['status'],
    additionalProperties: true,
  },
};

/** Readiness: `{status}`; each check's state and figures only for privileged callers. */
class ReadyDto {
  @ApiProperty({ enum: ['ok', 'degraded'] }) status!: string;
  @ApiPropertyOptional({ ...checks, description: 'checks that are up (privileged callers)' })
  info?: Record<string, unknown>;
  @ApiPropertyOptional({ ...checks, description: 'checks that are down (privileged callers)' })
  error?: Record<string, unknown>;
  @ApiPropertyOptional({
    ...checks,
    description:
      'every check: eventStore, keyStore, projections (position, lag, deadLetters, readModels)',
  })
  details?: Record<string, unknown>;
}

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
  @ApiResponse({ status: 200, type: LiveDto })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready to serve: the stores answer and the projections run (503 otherwise). Events set aside
   * as dead letters leave it ready but `degraded` (200): the read models lack those events'
   * effects. A projection retrying a failure makes it 503 after RETRY_GRACE_MS (at once when the
   * failure will not pass by itself). Each check's state, the projections' position, lag, dead
   * letters and retries come only with an auditor or programme_admin token, or the metrics token.
   */
  @Get('ready')
  @RouteConfig({ rateLimit: false })
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary:
      'Ready once the stores (events, keys) answer and projections run: {status: "ok"}, or {status: "degraded"} (still 200) while events a projection could not apply wait as dead letters (`cli dead-letters`); 503 problem+json when a store does not answer or a projection has been failing for over 5 s. Each check (positions, lag, dead letters per read model, retries) with an auditor, programme_admin or metrics token',
  })
  @ApiResponse({ status: 200, type: ReadyDto })
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
      () => this.projections(),
    ]);
  }

  // Down while a projection fails for more than a moment; degraded (200) with dead letters.
  private async projections(): Promise<HealthIndicatorResult<'projections'>> {
    const session = this.indicators.check('projections');
    let figures: ProjectionFigures | undefined;
    const result = await session
      .attempt(async () => {
        figures = await this.projectionFigures();
        return figures;
      })
      .withTimeout(2000);
    if (result.projections.status === 'up' && figures && figures.deadLetters > 0)
      return session.degraded(figures);
    return result;
  }

  private async projectionFigures(): Promise<ProjectionFigures> {
    const status = this.runner.status();
    const trouble = projectionsTrouble(status, Date.now(), RETRY_GRACE_MS);
    if (trouble) throw new Error(trouble);
    const [head, counts] = await Promise.all([
      this.store.headPosition(),
      this.runner.deadLetterCounts(),
    ]);
    const readModels: Record<string, ReadModelFigures> = {};
    let deadLetters = 0;
    for (const [name, { position, retrying }] of status) {
      const count = counts.get(name) ?? 0;
      deadLetters += count;
      readModels[name] = {
        position,
        deadLetters: count,
        ...(retrying ? { retrying: { ...retrying, since: retrying.since.toISOString() } } : {}),
      };
    }
    return {
      position: this.runner.position,
      lag: Math.max(0, head - this.runner.position),
      deadLetters,
      readModels,
    };
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
