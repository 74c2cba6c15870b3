import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import { testEvent } from '../../test/support/events';
import { storedLog } from './upcasting';
import { MAX_LISTED_PROBLEMS, verifyChains } from './verify-chains';

// A real SQLite log in a temporary folder, every event's data then changed behind the store.
describe('verifyChains on a log where every event was changed', () => {
  let dir: string;
  let store: SqliteEventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'verify-chains-'));
    store = new SqliteEventStore({ fileName: join(dir, 'events.sqlite') });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`lists the first ${MAX_LISTED_PROBLEMS} problems and counts the rest`, async () => {
    const total = MAX_LISTED_PROBLEMS + 250;
    for (let start = 0; start < total; start += 250)
      await store.append(
        'restored-1',
        Array.from({ length: 250 }, (_, i) => testEvent('SomethingHappened', { n: start + i })),
      );
    const db = new Database(join(dir, 'events.sqlite'));
    db.prepare(`UPDATE events SET data = '{"n":-1}'`).run();
    db.close();

    const report = await verifyChains(storedLog(store));
    expect(report.events).toBe(total);
    expect(report.problems).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(report.problems[0]).toMatchObject({ streamName: 'restored-1', revision: 0 });
    expect(report.unlistedProblems).toBe(total - MAX_LISTED_PROBLEMS);
  });
});
