import { join } from 'node:path';
import {
  type DynamicModule,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { TracedEventStore } from '../shared/command-trace';
import {
  EVENT_STORE,
  type EventSchemaRegistry,
  type EventStore,
  PersonalDataVault,
  type PersonalDataPolicy,
  SealingEventStore,
  STORED_EVENT_LOG,
  StreamCommandQueue,
  SUBJECT_KEY_STORE,
  type SubjectKeyStore,
  UpcastingEventStore,
} from '../event-sourcing';
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from './postgres/postgres-event-store';
import { postgresTimeouts } from './postgres/postgres-pool';
import { SqliteEventStore } from './sqlite/sqlite-event-store';

/** The SQLite file of the embedded event store inside DATA_DIR. */
export function sqliteEventStoreFile(config: AppConfig): string {
  return join(config.dataDir, 'events.sqlite');
}

/** The roles of students, whose `sub` the log records only as a pseudonym. */
export const STUDENT_ROLES: ReadonlySet<string> = new Set(['applicant', 'participant']);

/**
 * Opens the bare adapter that `EVENT_STORE` names: reads return events as stored, in whatever
 * schema version each was written, and writes are neither stamped nor sealed. Readers want
 * `createEventStore`; only the wiring and tests that write a legacy log use this directly.
 */
export function createEventStoreAdapter(config: AppConfig): EventStore {
  switch (config.EVENT_STORE) {
    case 'sqlite':
      return new SqliteEventStore({
        fileName: sqliteEventStoreFile(config),
        synchronous: config.SQLITE_SYNCHRONOUS,
      });
    case 'postgres':
      return new PostgresEventStore({
        connectionString: config.DATABASE_URL!,
        timeouts: postgresTimeouts(config.REQUEST_TIMEOUT_MS),
      });
    case 'eventstoredb':
      return new EventStoreDbEventStore({
        connectionString: config.EVENTSTORE_CONNECTION_STRING!,
        // Short reads (ping, heads) end before the request does, as on PostgreSQL.
        readTimeoutMs: Math.floor(config.REQUEST_TIMEOUT_MS * 0.85),
        log: new Logger('EventStoreDB'),
      });
  }
}

/**
 * The configured event store for the command line: reads in each event type's current shape
 * (upcast), writes stamped with the current versions, and the stored form as `stored` for
 * verification. Writes are not sealed, so it writes events without personal data only (the
 * programme definitions); the service's store is `EventStoreModule`'s.
 */
export function createEventStore(
  config: AppConfig,
  schemas: EventSchemaRegistry,
): UpcastingEventStore {
  return new UpcastingEventStore(createEventStoreAdapter(config), schemas);
}

/**
 * Provides the configured event store to the app, writing through the personal-data vault (every
 * personal field sealed under its subject's key before it is hashed) and reading every event in
 * its type's current shape (upcast); the same log as stored is `STORED_EVENT_LOG`, for hash
 * verification. Closes it on shutdown. Needs `SUBJECT_KEY_STORE` (SubjectKeyStoreModule).
 */
@Module({})
export class EventStoreModule implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  static forRoot(policy: PersonalDataPolicy, schemas: EventSchemaRegistry): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      providers: [
        {
          provide: PersonalDataVault,
          inject: [SUBJECT_KEY_STORE],
          // Keys stay in memory 30 s at most: long enough for a page of answers, short enough
          // that an erasure made by another instance takes hold everywhere within that time. The
          // secret is read on first need, so the service starts (and says it is not ready)
          // while the key store is down.
          useFactory: (keys: SubjectKeyStore) =>
            new PersonalDataVault(keys, { keyCacheMs: 30_000 }),
        },
        {
          // Writes: stamped with the current versions, then sealed, then hashed by the adapter.
          // Reads: as stored by the adapter (the sealing store passes them on), then upcast.
          // Each append lands in the trace of the command making it, for the command log.
          provide: EVENT_STORE,
          inject: [AppConfig, PersonalDataVault],
          useFactory: (config: AppConfig, vault: PersonalDataVault) =>
            new UpcastingEventStore(
              new SealingEventStore(
                new TracedEventStore(createEventStoreAdapter(config)),
                vault,
                policy,
                STUDENT_ROLES,
              ),
              schemas,
            ),
        },
        {
          // This process's commands take turns per stream (docs/reliability.md, "Contention").
          provide: StreamCommandQueue,
          inject: [AppConfig],
          useFactory: (config: AppConfig) =>
            new StreamCommandQueue(config.COMMAND_QUEUE_TIMEOUT_MS),
        },
        {
          provide: STORED_EVENT_LOG,
          inject: [EVENT_STORE],
          useFactory: (store: UpcastingEventStore) => store.stored,
        },
      ],
      exports: [EVENT_STORE, STORED_EVENT_LOG, PersonalDataVault, StreamCommandQueue],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
