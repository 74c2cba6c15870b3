import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import {
  SUBJECT_KEY_STORE,
  type SubjectKeyStore,
  type SubjectKeyStoreCopy,
} from '../event-sourcing/personal-data/key-store';
import { PostgresSubjectKeyStore } from './keys/postgres-subject-key-store';
import { postgresTimeouts } from './postgres/postgres-pool';
import { SqliteSubjectKeyStore } from './keys/sqlite-subject-key-store';

/** The SQLite key file inside DATA_DIR (KEY_STORE=sqlite). */
export function sqliteKeyStoreFile(config: AppConfig): string {
  return join(config.dataDir, 'keys.sqlite');
}

/** Opens the key store that KEY_STORE names (the service and the CLI both open it here). */
export function createSubjectKeyStore(config: AppConfig): SubjectKeyStore & SubjectKeyStoreCopy {
  return config.KEY_STORE === 'postgres'
    ? new PostgresSubjectKeyStore(config.DATABASE_URL!, {
        timeouts: postgresTimeouts(config.REQUEST_TIMEOUT_MS),
      })
    : new SqliteSubjectKeyStore(sqliteKeyStoreFile(config));
}

/**
 * The key store that KEY_STORE names if it exists, else undefined, without creating it: for
 * reading the keys of an old log (encrypt-log), whose folder or database must stay as it was.
 */
export async function openExistingSubjectKeyStore(
  config: AppConfig,
): Promise<(SubjectKeyStore & SubjectKeyStoreCopy) | undefined> {
  const exists =
    config.KEY_STORE === 'postgres'
      ? await PostgresSubjectKeyStore.existsAt(config.DATABASE_URL!)
      : existsSync(sqliteKeyStoreFile(config));
  return exists ? createSubjectKeyStore(config) : undefined;
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
