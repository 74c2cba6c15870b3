import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { describeEventStoreContract } from './event-store.contract';

/** The contract over SQLite files, every store opened with `options`. */
function describeSqliteContract(
  name: string,
  options: { readonly checkpointThreadAfterEvents?: number } = {},
): void {
  describeEventStoreContract(
    name,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'es-contract-'));
      const fileName = join(dir, 'events.sqlite');
      const open = () => new SqliteEventStore({ fileName, pollIntervalMs: 50, ...options });
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
}

describeSqliteContract('sqlite');
// The same contract with WAL checkpoints on their own thread from the first append (by default
// a store starts that thread after 1000 events, which few contract cases reach).
describeSqliteContract('sqlite, checkpoints on a thread', { checkpointThreadAfterEvents: 0 });
