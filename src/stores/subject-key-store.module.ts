import { join } from 'node:path';
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SUBJECT_KEY_STORE, type SubjectKeyStore } from '../event-sourcing/personal-data/key-store';
import { PostgresSubjectKeyStore } from './keys/postgres-subject-key-store';
import { postgresTimeouts } from './postgres/postgres-pool';
import { SqliteSubjectKeyStore } from './keys/sqlite-subject-key-store';

/** Opens the key store that KEY_STORE names (the service and the CLI both open it here). */
export function createSubjectKeyStore(config: AppConfig): SubjectKeyStore {
  return config.KEY_STORE === 'postgres'
    ? new PostgresSubjectKeyStore(config.DATABASE_URL!, {
        timeouts: postgresTimeouts(config.REQUEST_TIMEOUT_MS),
      })
    : new SqliteSubjectKeyStore(join(config.dataDir, 'keys.sqlite'));
}

/** The configured subject key store, as SUBJECT_KEY_STORE; closed on shutdown. */
@Global()
@Module({
  providers: [
    { provide: SUBJECT_KEY_STORE, inject: [AppConfig], useFactory: createSubjectKeyStore },
  ],
  exports: [SUBJECT_KEY_STORE],
})
export class SubjectKeyStoreModule implements OnApplicationShutdown {
  constructor(@Inject(SUBJECT_KEY_STORE) private readonly store: SubjectKeyStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
