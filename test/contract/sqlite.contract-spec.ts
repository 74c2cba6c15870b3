import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { describeEventStoreContract } from './event-store.contract';

describeEventStoreContract(
  'sqlite',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'es-contract-'));
    const fileName = join(dir, 'events.sqlite');
    const open = () => new SqliteEventStore({ fileName, pollIntervalMs: 50 });
    const store = open();
    const others: SqliteEventStore[] = [];
    return Promise.resolve({
      store,
      openAnother: () => {
        const other = open();
        others.push(other);
        return Promise.resolve(other);
      },
      dispose: async () => {
        await Promise.all([store, ...others].map((s) => s.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
  { gapFreePositions: true, streamReadsKnowPositions: true },
);

// The same contract with WAL checkpoints on their own thread from the first append (by default
// a store starts that thread after 1000 events, which few contract cases reach).
describeEventStoreContract(
  'sqlite, checkpoints on a thread',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'es-contract-'));
    const fileName = join(dir, 'events.sqlite');
    const open = () =>
      new SqliteEventStore({ fileName, pollIntervalMs: 50, checkpointThreadAfterEvents: 0 });
    const store = open();
    const others: SqliteEventStore[] = [];
    return Promise.resolve({
      store,
      openAnother: () => {
        const other = open();
        others.push(other);
        return Promise.resolve(other);
      },
      dispose: async () => {
        await Promise.all([store, ...others].map((s) => s.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
  { gapFreePositions: true, streamReadsKnowPositions: true },
);
