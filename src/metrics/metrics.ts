import { Inject, Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventStore } from '../event-sourcing';
import { ProjectionRunner } from '../projections/projection-runner';
import { EVENT_STORE, StreamCommandQueue } from '../event-sourcing';

/**
 * The Prometheus metrics of one running app (prom-client, one registry per app so that several
 * apps in one process, as in the tests, do not share counters): Node's process metrics, HTTP
 * request durations by route and status, the log's head, each projection's checkpoint and lag,
 * its dead letters and the failures it retried.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status'>;

  constructor(
    @Inject(EVENT_STORE) events: EventStore,
    @Inject(ProjectionRunner) runner: ProjectionRunner,
    @Inject(StreamCommandQueue) commands: StreamCommandQueue,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    let head = 0;
    new Gauge({
      name: 'event_store_head_position',
      help: 'Global position of the latest event in the log',
      registers: [this.registry],
      async collect() {
        head = await events.headPosition();
        this.set(head);
      },
    });
    new Gauge({
      name: 'projection_checkpoint_position',
      help: 'Position each read model has applied',
      labelNames: ['projection'],
      registers: [this.registry],
      collect() {
        for (const [projection, position] of runner.checkpoints())
          this.set({ projection }, position);
      },
    });
    new Gauge({
      name: 'projection_lag_events',
      help: 'How far a read model is behind the head: events on SQLite and PostgreSQL, log bytes on EventStoreDB (docs/eventstoredb.md)',
      labelNames: ['projection'],
      registers: [this.registry],
      async collect() {
        const now = await events.headPosition();
        for (const [projection, position] of runner.checkpoints())
          this.set({ projection }, Math.max(0, now - position));
      },
    });
    new Gauge({
      name: 'projections_failed',
      help: '1 while a projection retries a failure that will not pass by itself (see /health/ready), else 0',
      registers: [this.registry],
      collect() {
        this.set(runner.error ? 1 : 0);
      },
    });
    new Gauge({
      name: 'projection_dead_letters',
      help: 'Events a read model could not apply and set aside (cli dead-letters lists them, --retry applies them again)',
      labelNames: ['projection'],
      registers: [this.registry],
      async collect() {
        // A read-model store that does not answer leaves the last figures (readiness says why).
        const counts = await runner.deadLetterCounts().catch(() => undefined);
        if (!counts) return;
        for (const projection of runner.status().keys())
          this.set({ projection }, counts.get(projection) ?? 0);
      },
    });
    const counted = new Map<string, number>();
    new Counter({
      name: 'projection_retries_total',
      help: 'Failed attempts a projection retried (subscription, commit, start or rebuild)',
      labelNames: ['projection'],
      registers: [this.registry],
      collect() {
        for (const projection of runner.status().keys()) {
          const total = runner.retries().get(projection) ?? 0;
          this.inc({ projection }, total - (counted.get(projection) ?? 0));
          counted.set(projection, total);
        }
      },
    });
    new Gauge({
      name: 'projection_retrying_seconds',
      help: 'How long a projection has been retrying a failure, 0 when it runs',
      labelNames: ['projection'],
      registers: [this.registry],
      collect() {
        const now = Date.now();
        for (const [projection, { retrying }] of runner.status())
          this.set({ projection }, retrying ? (now - retrying.since.getTime()) / 1000 : 0);
      },
    });
    new Gauge({
      name: 'projection_leader',
      help: '1 for each read model this instance leads (writes), 0 for one it follows (docs/operations.md)',
      labelNames: ['projection'],
      registers: [this.registry],
      collect() {
        for (const [projection, { leading }] of runner.status())
          this.set({ projection }, leading ? 1 : 0);
      },
    });
    const waits = new Histogram({
      name: 'command_queue_wait_seconds',
      help: 'How long commands waited for the commands ahead of them on the same stream',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    const timeouts = new Counter({
      name: 'command_queue_timeouts_total',
      help: 'Commands refused with 503 because they waited COMMAND_QUEUE_TIMEOUT_MS for their turn (or the queue was full)',
      registers: [this.registry],
    });
    const retried = new Counter({
      name: 'command_conflicts_retried_total',
      help: 'Races lost to another writer (another instance, the CLI) that a command decided again',
      registers: [this.registry],
    });
    commands.observe({
      waited: (ms) => waits.observe(ms / 1000),
      timedOut: () => timeouts.inc(),
      retried: () => retried.inc(),
    });
    const changed = new Map<string, number>();
    new Counter({
      name: 'projection_leadership_changes_total',
      help: 'Times this instance took or lost the leadership of a read model',
      labelNames: ['projection'],
      registers: [this.registry],
      collect() {
        for (const projection of runner.status().keys()) {
          const total = runner.leadershipChanges().get(projection) ?? 0;
          this.inc({ projection }, total - (changed.get(projection) ?? 0));
          changed.set(projection, total);
        }
      },
    });
  }

  /** Times every request Fastify answers, labelled by its route pattern (not its URL). */
  instrument(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      this.requests.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}
