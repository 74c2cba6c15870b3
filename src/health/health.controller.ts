import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from '../auth/auth.guard';
import type { EventStore } from '../event-sourcing';
import { EVENT_STORE } from '../stores/event-store.module';
import { ProjectionRunner } from '../projections/projection-runner';

/** Liveness and readiness for orchestrators and load balancers; no token needed. */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Ready to serve: the event store answers and the projections run (503 otherwise), with their lag. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () =>
        this.indicators
          .check('eventStore')
          .attempt(() => this.store.ping())
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
