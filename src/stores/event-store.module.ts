import { join } from 'node:path';
import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { EVENT_STORE, type EventStore } from '../event-sourcing';
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from './postgres/postgres-event-store';
import { SqliteEventStore } from './sqlite/sqlite-event-store';

/** The SQLite file of the embedded event store inside DATA_DIR. */
export function sqliteEventStoreFile(config: AppConfig): string {
  return join(config.dataDir, 'events.sqlite');
}

/** Opens the adapter that `EVENT_STORE` names. */
export function createEventStore(config: AppConfig): EventStore {
  switch (config.EVENT_STORE) {
    case 'sqlite':
      return new SqliteEventStore({
        fileName: sqliteEventStoreFile(config),
        synchronous: config.SQLITE_SYNCHRONOUS,
      });
    case 'postgres':
      return new PostgresEventStore({ connectionString: config.DATABASE_URL! });
    case 'eventstoredb':
      return new EventStoreDbEventStore({ connectionString: config.EVENTSTORE_CONNECTION_STRING! });
  }
}

/** Provides the configured event store to the app and closes it on shutdown. */
@Module({})
export class EventStoreModule implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  static forRoot(): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      providers: [{ provide: EVENT_STORE, useFactory: createEventStore, inject: [AppConfig] }],
      exports: [EVENT_STORE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
