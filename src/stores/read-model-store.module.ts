import { join } from 'node:path';
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { READ_MODEL_STORE, type ReadModelStore } from '../projections/read-model-store';
import {
  LEADERSHIP,
  type Leadership,
  NoLeadership,
  SoleLeadership,
} from '../projections/leadership';
import { PostgresLeadership } from './postgres/postgres-leadership';
import { postgresTimeouts } from './postgres/postgres-pool';
import { PostgresReadModelStore } from './read-models/postgres-read-model-store';
import { SqliteReadModelStore } from './read-models/sqlite-read-model-store';

/** Opens the read-model store that READ_MODEL_STORE names. */
export function createReadModelStore(config: AppConfig): ReadModelStore {
  return config.READ_MODEL_STORE === 'postgres'
    ? new PostgresReadModelStore(config.DATABASE_URL!, {
        timeouts: postgresTimeouts(config.REQUEST_TIMEOUT_MS),
      })
    : new SqliteReadModelStore(join(config.dataDir, 'read-models.sqlite'));
}

/**
 * Who leads each read model (docs/operations.md, "Roles"): an `api` process never does; with
 * read models in PostgreSQL, whoever holds its advisory lock; with SQLite, whose file lock allows
 * one writer, this process leads them all (SQLite is for one instance).
 */
export function createLeadership(config: AppConfig): Leadership {
  const retryMs = Math.max(50, Math.floor(config.LEADER_TAKEOVER_MS / 5));
  if (config.PROCESS_ROLE === 'api') return new NoLeadership(retryMs);
  return createLockingLeadership(config);
}

/** Leadership by lock whatever PROCESS_ROLE says: for the CLI's rebuilds. */
export function createLockingLeadership(config: AppConfig): Leadership {
  if (config.READ_MODEL_STORE === 'postgres')
    return new PostgresLeadership(config.DATABASE_URL!, { takeoverMs: config.LEADER_TAKEOVER_MS });
  return new SoleLeadership();
}

/**
 * Closes the read-model store, and gives up leadership, after the runners have stopped (they
 * stop before shutdown).
 */
class ReadModelStoreCloser implements OnApplicationShutdown {
  constructor(
    @Inject(READ_MODEL_STORE) private readonly store: ReadModelStore,
    @Inject(LEADERSHIP) private readonly leadership: Leadership,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.leadership.close();
    await this.store.close();
  }
}

/** The configured read-model store, as READ_MODEL_STORE, and who leads it, as LEADERSHIP. */
@Global()
@Module({
  providers: [
    { provide: READ_MODEL_STORE, inject: [AppConfig], useFactory: createReadModelStore },
    { provide: LEADERSHIP, inject: [AppConfig], useFactory: createLeadership },
    ReadModelStoreCloser,
  ],
  exports: [READ_MODEL_STORE, LEADERSHIP],
})
export class ReadModelStoreModule {}
