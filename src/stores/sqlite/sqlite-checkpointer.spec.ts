import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NewEvent } from '../../event-sourcing';
import { SqliteEventStore } from './sqlite-event-store';

const event = (i: number): NewEvent => ({
  type: 'Noted',
  data: { i, text: 'x'.repeat(500) },
  metadata: {
    actor: { sub: 's', role: 'r' },
    correlationId: 'c',
    causationId: null,
    schemaVersion: 1,
  },
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('WAL checkpoints on a thread of their own', () => {
  let dir: string;
  let fileName: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-checkpoint-'));
    fileName = join(dir, 'events.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies committed pages into the database file while the writer only appends to the WAL', async () => {
    const store = new SqliteEventStore({ fileName, checkpointThreadAfterEvents: 0 });
    const before = statSync(fileName).size;
    // Well under the 1000 pages at which the writer would checkpoint itself.
    for (let i = 0; i < 100; i += 1) await store.append('notes-1', [event(i)]);
    await until(() => statSync(fileName).size > before + 50 * 1024);
    await store.close();
    // Every connection, the thread's too, is closed: the last one removed the WAL.
    expect(existsSync(`${fileName}-wal`)).toBe(false);
    const db = new Database(fileName, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(100);
    expect(db.prepare('SELECT revision FROM streams').pluck().get()).toBe(99);
    db.close();
  });

  it('starts only after the configured number of events, so short-lived stores start no thread', async () => {
    const store = new SqliteEventStore({ fileName, checkpointThreadAfterEvents: 1000 });
    const before = statSync(fileName).size;
    for (let i = 0; i < 100; i += 1) await store.append('notes-1', [event(i)]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Nothing copied: 100 appends are far from SQLite's own checkpoint at 1000 pages.
    expect(statSync(fileName).size).toBe(before);
    await store.close();
  });

  it('keeps appending when another process holds the file, and closes cleanly', async () => {
    const store = new SqliteEventStore({ fileName, checkpointThreadAfterEvents: 0 });
    const reader = new Database(fileName, { readonly: true });
    reader.exec('BEGIN');
    expect(reader.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(0);
    // An open read snapshot stops checkpoints from copying past it; appends go on regardless.
    for (let i = 0; i < 50; i += 1) await store.append('notes-1', [event(i)]);
    reader.exec('COMMIT');
    reader.close();
    await store.close();
    const db = new Database(fileName, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(50);
    db.close();
  });
});
