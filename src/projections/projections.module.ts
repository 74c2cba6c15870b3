import { join } from 'node:path';
import {
  type BeforeApplicationShutdown,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { EventStore } from '../event-sourcing';
import { ApiProblem } from '../http/problem-details';
import { applicationsProjection } from '../applications/queries/applications.projection';
import { progressProjection } from '../participants/queries/progress.projection';
import { timelineProjection } from '../participants/queries/timeline.projection';
import { programmesProjection } from '../programmes/queries/programmes.projection';
import { EVENT_STORE } from '../stores/event-store.module';
import { PostgresReadModelStore } from '../stores/read-models/postgres-read-model-store';
import { SqliteReadModelStore } from '../stores/read-models/sqlite-read-model-store';
import type { Projection } from './projection';
import { ProjectionRunner } from './projection-runner';
import type { ReadModelStore } from './read-model-store';
import { ReadModels } from './read-models';

/** Injection token for the configured `ReadModelStore`. */
export const READ_MODEL_STORE = Symbol('ReadModelStore');

/** Opens the read-model store that READ_MODEL_STORE names. */
export function createReadModelStore(config: AppConfig): ReadModelStore {
  return config.READ_MODEL_STORE === 'postgres'
    ? new PostgresReadModelStore(config.DATABASE_URL!)
    : new SqliteReadModelStore(join(config.dataDir, 'read-models.sqlite'));
}

/** Every projection the service keeps up to date. */
export const PROJECTIONS = [
  programmesProjection,
  applicationsProjection,
  progressProjection,
  timelineProjection,
] as ReadonlyArray<Projection<unknown>>;

/** How long a query waits for `minPosition` before answering 503. */
const READ_YOUR_WRITES_TIMEOUT_MS = 5000;

/** Read-your-writes for queries: waits until the read models have applied a position. */
@Injectable()
export class ReadYourWrites {
  constructor(
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(EVENT_STORE) private readonly events: EventStore,
  ) {}

  /**
   * `minPosition` on the raw log (audit): resolves once the log holds `position`, which another
   * instance may have appended a moment ago; 503 with Retry-After after 5 s.
   */
  async logHolds(position: number | undefined): Promise<void> {
    if (position === undefined) return;
    const deadline = Date.now() + READ_YOUR_WRITES_TIMEOUT_MS;
    for (;;) {
      const head = await this.events.headPosition();
      if (head >= position) return;
      if (Date.now() >= deadline)
        throw new ApiProblem(
          503,
          'NOT_YET_RECORDED',
          `The log holds positions up to ${head}, not yet ${position}; retry shortly.`,
          { 'retry-after': '5' },
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Resolves once every read model has passed `position`; 503 with Retry-After after 5 s. */
  async reach(position: number | undefined): Promise<void> {
    if (position === undefined) return;
    if (await this.runner.waitFor(position, READ_YOUR_WRITES_TIMEOUT_MS)) return;
    throw new ApiProblem(
      503,
      'NOT_YET_PROJECTED',
      `The read models have not reached position ${position} yet (they are at ${this.runner.position}); retry shortly.`,
      { 'retry-after': '5' },
    );
  }
}

/** Starts the runner after start-up and stops it before the stores close. */
@Injectable()
class RunnerLifecycle
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Projections');
  private retry: NodeJS.Timeout | undefined;

  constructor(
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(READ_MODEL_STORE) private readonly store: ReadModelStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.attempt();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.retry);
    await this.runner.stop();
  }

  // A store that does not answer yet must not stop the service: readiness says so meanwhile.
  private async attempt(): Promise<void> {
    try {
      await this.runner.start();
    } catch (error) {
      this.logger.warn(
        `Projections could not start yet (${(error as Error).message}); retrying in 5 s.`,
      );
      this.retry = setTimeout(() => void this.attempt(), 5000);
      this.retry.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** Read models: their store (READ_MODEL_STORE), typed queries on it, the projections and the runner. */
@Global()
@Module({
  providers: [
    {
      provide: READ_MODEL_STORE,
      inject: [AppConfig],
      useFactory: createReadModelStore,
    },
    {
      provide: ProjectionRunner,
      inject: [EVENT_STORE, READ_MODEL_STORE],
      useFactory: (events: EventStore, readModels: ReadModelStore) =>
        new ProjectionRunner(events, readModels, PROJECTIONS),
    },
    {
      provide: ReadModels,
      inject: [READ_MODEL_STORE],
      useFactory: (store: ReadModelStore) => new ReadModels(store),
    },
    ReadYourWrites,
    RunnerLifecycle,
  ],
  exports: [READ_MODEL_STORE, ReadModels, ProjectionRunner, ReadYourWrites],
})
export class ProjectionsModule {}
