import { randomUUID } from 'node:crypto';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { EventStoreDbEventStore } from '../../src/stores/eventstoredb/eventstoredb-event-store';
import { describeEventStoreContract } from './event-store.contract';

// No EventStoreDB server can run on our machines; the suite runs wherever one is reachable.
const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

if (connectionString) {
  // Each test gets fresh stream names, but $all is shared: the global-log tests then read the
  // events of earlier tests too, so this suite wants a throw-away server (docker-compose.yml).
  describeEventStoreContract(
    'eventstoredb',
    () => {
      const open = () => new EventStoreDbEventStore({ connectionString });
      const store = open();
      const others: EventStoreDbEventStore[] = [];
      // Records the adapter must pass over: '$'-typed events (as the server's own are), written
      // by a plain client (the adapter refuses such types).
      const raw = EventStoreDBClient.connectionString(connectionString);
      return Promise.resolve({
        writeSystemEvents: async (count: number) => {
          for (let i = 0; i < count; i += 1)
            await raw.appendToStream(
              `contract-system-${randomUUID()}`,
              jsonEvent({ type: '$contract-system', data: { i } }),
            );
        },
        store,
        openAnother: () => {
          const other = open();
          others.push(other);
          return Promise.resolve(other);
        },
        dispose: async () => {
          await Promise.all([store, ...others].map((s) => s.close()));
          await raw.dispose();
        },
      });
    },
    // Servers from 22.6 on (docker-compose.yml runs 24.10) give stream reads their positions;
    // set EVENTSTORE_BEFORE_22_6=1 for an older one.
    { gapFreePositions: false, streamReadsKnowPositions: !process.env.EVENTSTORE_BEFORE_22_6 },
  );
} else {
  describe('EventStore contract: eventstoredb', () => {
    it.skip('SKIPPED: set EVENTSTORE_CONNECTION_STRING (e.g. esdb://localhost:2113?tls=false) to run it', () =>
      undefined);
  });
}
