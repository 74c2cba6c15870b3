import type Database from 'better-sqlite3';
import {
  type AppendResult,
  type ExistingEvent,
  type PreparedAppend,
  type StreamHead,
  EventStoreError,
  planAppend,
} from '../../event-sourcing';
import { EVENT_COLUMNS, eventRowValues } from '../shared/event-row';

// About 15 MB at most; past it the cache starts over rather than tracking recency.
const MAX_CACHED_HEADS = 100_000;

/**
 * Writes batches of appends to the events table, one transaction per batch, on one connection.
 *
 * Positions are assigned explicitly as max + 1 inside a transaction that holds SQLite's single
 * write lock (`BEGIN IMMEDIATE`), so they are gap-free and increase in commit order, also with
 * several connections or processes on one file. Each append keeps its own expected-revision
 * check, made inside the transaction; reads see the batch's own earlier inserts, so two appends
 * to one stream in one batch are checked against each other too.
 *
 * Stream heads and the last position are cached as of this connection's last commit. They stay
 * valid while no other connection commits, which `PRAGMA data_version` tells inside the lock.
 */
export class SqliteAppendWriter {
  private readonly heads = new Map<string, StreamHead>();
  private lastPosition: number | undefined;
  private dataVersion = -1;
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      head: db.prepare(
        'SELECT revision, hash FROM events WHERE stream_name = ? ORDER BY revision DESC LIMIT 1',
      ),
      findEvent: db.prepare(
        'SELECT stream_name, revision, position FROM events WHERE event_id = ?',
      ),
      lastPosition: db.prepare('SELECT COALESCE(MAX(position), 0) FROM events').pluck(),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      insert: db.prepare(
        `INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      putHead: db.prepare(
        'INSERT INTO streams (stream_name, revision, hash) VALUES (?, ?, ?) ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision, hash = excluded.hash',
      ),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
  }

  /** One outcome per append, in order; throws (writing nothing) when the transaction fails. */
  writeBatch(batch: readonly PreparedAppend[]): Array<AppendResult | EventStoreError> {
    const s = this.statements;
    s.begin.run();
    try {
      const version = s.dataVersion.get() as number;
      if (version !== this.dataVersion) {
        // Another connection (maybe another process) committed since our last commit.
        this.heads.clear();
        this.lastPosition = undefined;
        this.dataVersion = version;
      }
      let position = this.lastPosition ?? (s.lastPosition.get() as number);
      const written = new Map<string, StreamHead>();
      const context = {
        recordedAt: new Date().toISOString(),
        head: (streamName: string): StreamHead | undefined => {
          const known = written.get(streamName) ?? this.heads.get(streamName);
          if (known) return known;
          const stored = s.head.get(streamName) as StreamHead | undefined;
          if (stored) this.heads.set(streamName, stored);
          return stored;
        },
        findEvent: (eventId: string): ExistingEvent | undefined => {
          const row = s.findEvent.get(eventId) as
            { stream_name: string; revision: number; position: number } | undefined;
          return (
            row && { streamName: row.stream_name, revision: row.revision, position: row.position }
          );
        },
      };
      const outcomes = batch.map((append): AppendResult | EventStoreError => {
        try {
          const plan = planAppend(append, context);
          if (plan.kind === 'already-appended') return plan.result;
          for (const event of plan.events) {
            position += 1;
            s.insert.run(eventRowValues(event, position));
          }
          const last = plan.events[plan.events.length - 1]!;
          written.set(append.streamName, { revision: last.revision, hash: last.hash });
          return { nextRevision: last.revision, position };
        } catch (error) {
          if (error instanceof EventStoreError) return error;
          throw error;
        }
      });
      for (const [streamName, head] of written) s.putHead.run(streamName, head.revision, head.hash);
      s.commit.run();
      this.lastPosition = position;
      if (this.heads.size + written.size > MAX_CACHED_HEADS) this.heads.clear();
      for (const [streamName, head] of written) this.heads.set(streamName, head);
      return outcomes;
    } catch (error) {
      if (this.db.inTransaction) s.rollback.run();
      // What this connection believed may no longer hold: read it again next time.
      this.heads.clear();
      this.lastPosition = undefined;
      throw error;
    }
  }
}
