import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type AppendOptions,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type EventSubscription,
  type ExistingEvent,
  type JsonObject,
  type NewEvent,
  type PreparedAppend,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamHead,
  EventStoreError,
  PollingSubscription,
  StreamNotFoundError,
  assertValidStreamName,
  planAppend,
  prepareAppend,
} from '../../event-sourcing';
import { AppendBatcher } from '../shared/append-batcher';

/** How SQLite makes a commit durable; see README "Durability". */
export type SqliteSynchronous = 'NORMAL' | 'FULL';

/** Options for `SqliteEventStore`. */
export interface SqliteEventStoreOptions {
  /** Path of the database file; created with its folder when missing. */
  readonly fileName: string;
  /** `NORMAL` (default: survives a process crash, may lose the last commits on power loss) or `FULL`. */
  readonly synchronous?: SqliteSynchronous;
  /** How long a writer waits for another process's write lock, in ms; default 5000. */
  readonly busyTimeoutMs?: number;
  /** Longest wait before a subscription notices another process's appends; default 250 ms. */
  readonly pollIntervalMs?: number;
}

interface EventRow {
  position: number;
  event_id: string;
  stream_name: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
  prev_hash: string | null;
  hash: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY,
  event_id    TEXT    NOT NULL UNIQUE,
  stream_name TEXT    NOT NULL,
  revision    INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT    NOT NULL,
  recorded_at TEXT    NOT NULL,
  prev_hash   TEXT,
  hash        TEXT    NOT NULL,
  UNIQUE (stream_name, revision)
);`;

// About 15 MB at most; past it the cache starts over rather than tracking recency.
const MAX_CACHED_HEADS = 100_000;

const COLUMNS =
  'position, event_id, stream_name, revision, type, data, metadata, recorded_at, prev_hash, hash';

/**
 * The embedded event store: one SQLite file in WAL mode.
 *
 * Positions are the table's rowid, assigned explicitly as max + 1 inside a write transaction
 * that holds SQLite's single write lock (`BEGIN IMMEDIATE`), so they are gap-free and
 * increase in commit order, also with several processes on one file. Appends are group
 * committed: those queued in one turn of the event loop share a transaction, each with its own
 * expected-revision check made inside it.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly batcher: AppendBatcher;
  private readonly appended = new EventEmitter();
  private readonly statements: ReturnType<SqliteEventStore['prepareStatements']>;
  private readonly pollIntervalMs: number;
  private closed = false;
  // Stream heads and the last position as of this connection's last commit. They stay valid
  // while no other connection commits, which `PRAGMA data_version` tells inside the write lock.
  private readonly heads = new Map<string, StreamHead>();
  private lastPosition: number | undefined;
  private dataVersion = -1;

  constructor(options: SqliteEventStoreOptions) {
    mkdirSync(dirname(options.fileName), { recursive: true });
    this.db = new Database(options.fileName, { timeout: options.busyTimeoutMs ?? 5000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    this.db.exec(SCHEMA);
    this.statements = this.prepareStatements();
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.batcher = new AppendBatcher((batch) => this.writeBatch(batch));
    this.appended.setMaxListeners(0);
  }

  append(
    streamName: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    let prepared: PreparedAppend;
    try {
      prepared = prepareAppend(streamName, events, options.expectedRevision);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.batcher.enqueue(prepared);
  }

  readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return new Promise((resolve) => {
      assertValidStreamName(streamName);
      const backwards = options.direction === 'backwards';
      const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
      const limit = options.maxCount ?? -1;
      const statement = backwards
        ? this.statements.readStreamBackwards
        : this.statements.readStreamForwards;
      const rows = statement.all(streamName, from, limit) as EventRow[];
      if (rows.length === 0 && this.statements.head.get(streamName) === undefined) {
        throw new StreamNotFoundError(streamName);
      }
      resolve(rows.map(toRecordedEvent));
    });
  }

  readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    return new Promise((resolve) => {
      const rows = this.statements.readAll.all(afterPosition, maxCount) as EventRow[];
      resolve(rows.map(toRecordedEvent));
    });
  }

  subscribeToAll(afterPosition: number): EventSubscription {
    return new PollingSubscription(
      {
        readAll: (after, max) => this.readAll(after, max),
        onAppended: (listener) => {
          this.appended.on('appended', listener);
          return () => this.appended.off('appended', listener);
        },
      },
      afterPosition,
      { pollIntervalMs: this.pollIntervalMs },
    );
  }

  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.statements.ping.get();
      resolve();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.batcher.close();
    this.appended.emit('appended');
    this.appended.removeAllListeners();
    this.db.close();
  }

  private prepareStatements() {
    const db = this.db;
    return {
      ping: db.prepare('SELECT 1'),
      head: db.prepare(
        'SELECT revision, hash FROM events WHERE stream_name = ? ORDER BY revision DESC LIMIT 1',
      ),
      findEvent: db.prepare(
        'SELECT stream_name, revision, position FROM events WHERE event_id = ?',
      ),
      lastPosition: db.prepare('SELECT COALESCE(MAX(position), 0) AS position FROM events').pluck(),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      insert: db.prepare(`INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      readStreamForwards: db.prepare(
        `SELECT ${COLUMNS} FROM events WHERE stream_name = ? AND revision >= ? ORDER BY revision LIMIT ?`,
      ),
      readStreamBackwards: db.prepare(
        `SELECT ${COLUMNS} FROM events WHERE stream_name = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
      ),
      readAll: db.prepare(
        `SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
      ),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
  }

  // One transaction for the whole batch. Reads made inside it see the batch's own earlier
  // inserts, so two appends to one stream in one batch are checked against each other too.
  private writeBatch(batch: readonly PreparedAppend[]): Array<AppendResult | Error> {
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
            | { stream_name: string; revision: number; position: number }
            | undefined;
          return (
            row && { streamName: row.stream_name, revision: row.revision, position: row.position }
          );
        },
      };
      const outcomes = batch.map((append): AppendResult | Error => {
        try {
          const plan = planAppend(append, context);
          if (plan.kind === 'already-appended') return plan.result;
          for (const event of plan.events) {
            position += 1;
            s.insert.run(
              position,
              event.eventId,
              event.streamName,
              event.revision,
              event.type,
              event.dataJson,
              event.metadataJson,
              event.recordedAt,
              event.prevHash,
              event.hash,
            );
          }
          const last = plan.events[plan.events.length - 1]!;
          written.set(append.streamName, { revision: last.revision, hash: last.hash });
          return { nextRevision: last.revision, position };
        } catch (error) {
          if (error instanceof EventStoreError) return error;
          throw error;
        }
      });
      s.commit.run();
      this.lastPosition = position;
      if (this.heads.size + written.size > MAX_CACHED_HEADS) this.heads.clear();
      for (const [streamName, head] of written) this.heads.set(streamName, head);
      this.appended.emit('appended');
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

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    streamName: row.stream_name,
    revision: row.revision,
    position: row.position,
    type: row.type,
    data: JSON.parse(row.data) as JsonObject,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    recordedAt: row.recorded_at,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
