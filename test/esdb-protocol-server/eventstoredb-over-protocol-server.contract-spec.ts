import { EventStoreDbEventStore } from '../../src/stores/eventstoredb/eventstoredb-event-store';
import { describeEventStoreContract } from '../contract/event-store.contract';
import { EsdbProtocolServer } from './esdb-protocol-server';

// The whole event-store contract, run by the EventStoreDB adapter and @eventstore/db-client
// against the protocol-level test server (not EventStoreDB: see esdb-protocol-server.ts), so
// the adapter's contract runs in every `npm test`. Against a real server it runs in
// test/contract/eventstoredb.contract-spec.ts when EVENTSTORE_CONNECTION_STRING is set.
describeEventStoreContract(
  'eventstoredb over the protocol-level test server',
  async () => {
    const server = await new EsdbProtocolServer().start();
    // System records from the start, as a real server's $all has them.
    server.writeSystemEvents(5);
    const open = () => new EventStoreDbEventStore({ connectionString: server.connectionString });
    const store = open();
    const others: EventStoreDbEventStore[] = [];
    return {
      store,
      openAnother: () => {
        const other = open();
        others.push(other);
        return Promise.resolve(other);
      },
      writeSystemEvents: (count) => {
        server.writeSystemEvents(count);
        return Promise.resolve();
      },
      dispose: async () => {
        await Promise.all([store, ...others].map((s) => s.close()));
        await server.stop();
      },
    };
  },
  { gapFreePositions: false, streamReadsKnowPositions: true },
);
