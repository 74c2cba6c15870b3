import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../event-sourcing';
import type { Projection } from './projection';
import { LEADERSHIP, type Leadership } from './leadership';
import { ProjectionRunner } from './projection-runner';
import { READ_MODEL_STORE, type ReadModelStore } from './read-model-store';
import { ReadYourWrites } from './read-your-writes';
import { ReadModels } from './read-models';

/** Starts the runner after start-up and stops it before the stores close. */
@Injectable()
class RunnerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private retry: NodeJS.Timeout | undefined;

  constructor(@Inject(ProjectionRunner) private readonly runner: ProjectionRunner) {}

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
}

/** Injection token of the projections this service keeps up to date. */
export const SERVED_PROJECTIONS = Symbol('ServedProjections');

/**
 * The projections, their runner and typed queries on their read models (ReadModels). The composition root hands in the projections (each slice
 * defines its own); the read-model store comes from the stores' module (READ_MODEL_STORE).
 */
@Global()
@Module({})
export class ProjectionsModule {
  static forRoot(projections: ReadonlyArray<Projection<unknown>>): DynamicModule {
    return {
      module: ProjectionsModule,
      providers: [
        { provide: SERVED_PROJECTIONS, useValue: projections },
        {
          provide: ProjectionRunner,
          inject: [EVENT_STORE, READ_MODEL_STORE, LEADERSHIP],
          useFactory: (events: EventStore, readModels: ReadModelStore, leadership: Leadership) =>
            new ProjectionRunner(events, readModels, projections, {
              leadership,
              log: new Logger('Projections'),
            }),
        },
        {
          provide: ReadModels,
          inject: [READ_MODEL_STORE],
          useFactory: (store: ReadModelStore) => new ReadModels(store),
        },
        ReadYourWrites,
        RunnerLifecycle,
      ],
      exports: [SERVED_PROJECTIONS, ProjectionRunner, ReadModels, ReadYourWrites],
    };
  }
}
