import { join } from 'node:path';
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { READ_MODEL_STORE, type ReadModelStore } from '../projections/read-model-store';
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

/** Closes the read-model store after the runners have stopped (they stop before shutdown). */
class ReadModelStoreCloser implements OnApplicationShutdown {
  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** The configured read-model store, as READ_MODEL_STORE. */
@Global()
@Module({
  providers: [
    { provide: READ_MODEL_STORE, inject: [AppConfig], useFactory: createReadModelStore },
    ReadModelStoreCloser,
  ],
  exports: [READ_MODEL_STORE],
})
export class ReadModelStoreModule {}
