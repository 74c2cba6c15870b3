import { PostgresEventStore } from '../../src/stores/postgres/postgres-event-store';
import { freshSchemaUrl } from '../support/postgres';
import { describeEventStoreContract } from './event-store.contract';

describeEventStoreContract(
  'postgres',
  async () => {
    const connectionString = await freshSchemaUrl();
    const open = () => new PostgresEventStore({ connectionString, pollIntervalMs: 100 });
    const store = open();
    await store.ping();
    const others: PostgresEventStore[] = [];
    return {
      store,
      openAnother: async () => {
        const other = open();
        others.push(other);
        await other.ping();
        return other;
      },
      dispose: async () => {
        await Promise.all([store, ...others].map((s) => s.close()));
      },
    };
  },
  { gapFreePositions: true, streamReadsKnowPositions: true },
);
