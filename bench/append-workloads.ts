/**
 * The append workloads `bench:store` measures, shared with `bench/append-ab.ts` so that the two
 * measure the same thing: appends through an EventStore (one caller, or many on disjoint
 * streams), and their raw better-sqlite3 peer with the adapter's schema and statements.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { type EventStore, type NewEvent, timeOrderedUuid } from '../src/event-sourcing';
import { activityEvent, rate } from './bench-kit';

/** The workloads over `streams` streams, one data subject per stream. */
export function appendWorkloads(streams: number) {
  const streamOf = (i: number) => `participant-${i % streams}`;
  // One data subject per stream, as a participant's stream is about that participant alone.
  const eventOf = (i: number) => activityEvent(i, i % streams);

  /** Sequential appends through an EventStore, each with the expected revision the caller knows. */
  async function appendSequential(
    store: EventStore,
    count: number,
    eventAt: (i: number) => NewEvent = eventOf,
    streamSuffix = '',
  ): Promise<void> {
    const revisions = new Map<string, number>();
    for (let i = 0; i < count; i += 1) {
      const stream = `${streamOf(i)}${streamSuffix}`;
      const expected = revisions.get(stream);
      const result = await store.append(stream, [eventAt(i)], {
        expectedRevision: expected ?? 'no_stream',
      });
      revisions.set(stream, result.nextRevision);
    }
  }

  /** The same appends from `callers` concurrent callers, each owning a disjoint set of streams. */
  async function appendConcurrent(
    store: EventStore,
    count: number,
    callers: number,
    streamSuffix = '',
  ): Promise<void> {
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        const revisions = new Map<string, number>();
        for (let i = caller; i < count; i += callers) {
          const stream = `${streamOf(i)}-c${caller}${streamSuffix}`;
          const expected = revisions.get(stream);
          const result = await store.append(stream, [eventOf(i)], {
            expectedRevision: expected ?? 'no_stream',
          });
          revisions.set(stream, result.nextRevision);
        }
      }),
    );
  }

  // The same schema as our adapter, and the same statements, without the adapter around them.
  function rawSqlite(fileName: string) {
    const db = new Database(fileName);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE events (
    position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream_name TEXT NOT NULL,
    revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL, prev_hash TEXT, hash TEXT NOT NULL, UNIQUE (stream_name, revision))`);
    const head = db.prepare(
      'SELECT revision, hash FROM events WHERE stream_name = ? ORDER BY revision DESC LIMIT 1',
    );
    const insert = db.prepare(
      'INSERT INTO events (event_id, stream_name, revision, type, data, metadata, recorded_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const appendOne = (i: number, expected: number) => {
      const stream = streamOf(i);
      const current = head.get(stream) as { revision: number; hash: string } | undefined;
      if ((current?.revision ?? -1) !== expected) throw new Error('wrong expected revision');
      const event = eventOf(i);
      const data = JSON.stringify(event.data);
      const hash = createHash('sha256')
        .update(data)
        .update(current?.hash ?? '')
        .digest('hex');
      insert.run(
        timeOrderedUuid(),
        stream,
        expected + 1,
        event.type,
        data,
        JSON.stringify(event.metadata),
        new Date().toISOString(),
        current?.hash ?? null,
        hash,
      );
    };
    return { db, appendOne };
  }

  /** `count` appends with raw better-sqlite3, one transaction each: events per second. */
  async function rawSequential(fileName: string, count: number): Promise<number> {
    const raw = rawSqlite(fileName);
    const revisions = new Map<string, number>();
    const oneTx = raw.db.transaction((i: number) => {
      const expected = revisions.get(streamOf(i)) ?? -1;
      raw.appendOne(i, expected);
      revisions.set(streamOf(i), expected + 1);
    });
    const result = await rate(count, () => {
      for (let i = 0; i < count; i += 1) oneTx.immediate(i);
    });
    raw.db.close();
    return result;
  }

  return { streamOf, eventOf, appendSequential, appendConcurrent, rawSqlite, rawSequential };
}
