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
      return Promise.resolve({
        store,
        openAnother: () => {
          const other = open();
          others.push(other);
          return Promise.resolve(other);
        },
        dispose: async () => {
          await Promise.all([store, ...others].map((s) => s.close()));
        },
      });
    },
    { gapFreePositions: false, streamReadsKnowPositions: false },
  );
} else {
  describe('EventStore contract: eventstoredb', () => {
    it.skip('SKIPPED: set EVENTSTORE_CONNECTION_STRING (e.g. esdb://localhost:2113?tls=false) to run it', () =>
      undefined);
  });
}
