import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { EventStore } from '../../src/event-sourcing';
import type { ReadModelStore } from '../../src/projections/read-model-store';
import { PostgresEventStore } from '../../src/stores/postgres/postgres-event-store';
import { PostgresReadModelStore } from '../../src/stores/read-models/postgres-read-model-store';
import { SqliteReadModelStore } from '../../src/stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { testEvent } from '../support/events';
import { freshSchemaUrl } from '../support/postgres';

// A log written before stream heads existed (schema version 1) is brought up to date on open.
async function writeSome(store: EventStore): Promise<void> {
  await store.append('m-1', [testEvent('A'), testEvent('B')]);
  await store.append('m-2', [testEvent('C')]);
  await store.append('m-1', [testEvent('D')]);
}
async function expectHeadsOfLog(store: EventStore): Promise<void> {
  const heads = await store.integrity!.readStreamHeads('', 10);
  const m1 = await store.readStream('m-1');
  const m2 = await store.readStream('m-2');
  expect(heads).toEqual([
    { streamName: 'm-1', revision: 2, hash: m1[2]!.hash },
    { streamName: 'm-2', revision: 0, hash: m2[0]!.hash },
  ]);
}

describe('event store schema migrations', () => {
  it('SQLite: a version-1 file gets its stream heads filled in; a newer file is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'es-migrate-'));
    const fileName = join(dir, 'events.sqlite');
    try {
      const first = new SqliteEventStore({ fileName });
      await writeSome(first);
      await first.close();
      const raw = new Database(fileName);
      raw.exec('DROP TABLE streams');
      raw.pragma('user_version = 1');
      raw.close();

      const upgraded = new SqliteEventStore({ fileName });
      await expectHeadsOfLog(upgraded);
      await upgraded.close();

      const newer = new Database(fileName);
      newer.pragma('user_version = 99');
      newer.close();
      expect(() => new SqliteEventStore({ fileName })).toThrow(
        /schema version 99, newer than this app's 2: run the newer app/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: a version-1 schema gets its stream heads filled in', async () => {
    const connectionString = await freshSchemaUrl();
    const first = new PostgresEventStore({ connectionString });
    await writeSome(first);
    await first.close();
    const client = new Client({ connectionString });
    await client.connect();
    await client.query('DROP TABLE es_streams');
    await client.query('UPDATE es_schema_version SET version = 1');
    await client.end();

    const upgraded = new PostgresEventStore({ connectionString });
    try {
      await expectHeadsOfLog(upgraded);
    } finally {
      await upgraded.close();
    }
  });
});

// Read models from before dead letters had a generation (schema version 1): a rebuild had
// recorded again the letter the live run had recorded.
const V1_LETTERS = `INSERT INTO rm_dead_letters (projection, position, event_id, event_type, stream_name, error, recorded_at) VALUES
  ('things', 3, 'e-3', 'Bad', 's-1', 'boom', '2026-11-27T00:00:00.000Z'),
  ('things', 3, 'e-3', 'Bad', 's-1', 'boom', '2026-11-28T00:00:00.000Z'),
  ('things', 5, 'e-5', 'Bad', 's-1', 'bang', '2026-11-28T00:00:00.000Z')`;

async function activeThings(store: ReadModelStore): Promise<void> {
  await store.createGeneration('things', 1, 1);
  await store.createGeneration('things', 2, 1);
  await store.activate('things', 2);
}

async function expectOneLetterPerEvent(store: ReadModelStore): Promise<void> {
  expect(await store.deadLetters()).toEqual([
    expect.objectContaining({ position: 3, recordedAt: '2026-11-27T00:00:00.000Z' }),
    expect.objectContaining({ position: 5, error: 'bang' }),
  ]);
  expect(await store.countDeadLetters()).toEqual(new Map([['things', 2]]));
}

describe('read-model store schema migrations', () => {
  it('SQLite: version-1 dead letters go to the active generation, once per event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rm-migrate-'));
    const fileName = join(dir, 'read-models.sqlite');
    try {
      const first = new SqliteReadModelStore(fileName);
      await activeThings(first);
      await first.close();
      const raw = new Database(fileName);
      raw.exec('DROP INDEX rm_dead_letters_generation');
      raw.exec('ALTER TABLE rm_dead_letters DROP COLUMN generation');
      raw.exec(V1_LETTERS);
      raw.pragma('user_version = 1');
      raw.close();

      const upgraded = new SqliteReadModelStore(fileName);
      try {
        await expectOneLetterPerEvent(upgraded);
      } finally {
        await upgraded.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: version-1 dead letters go to the active generation, once per event', async () => {
    const connectionString = await freshSchemaUrl();
    const first = new PostgresReadModelStore(connectionString);
    await activeThings(first);
    await first.close();
    const client = new Client({ connectionString });
    await client.connect();
    await client.query('ALTER TABLE rm_dead_letters DROP COLUMN generation');
    await client.query(V1_LETTERS);
    await client.query('UPDATE rm_schema_version SET version = 1');
    await client.end();

    const upgraded = new PostgresReadModelStore(connectionString);
    try {
      await expectOneLetterPerEvent(upgraded);
    } finally {
      await upgraded.close();
    }
  });
});
