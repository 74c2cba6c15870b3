import { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import {
  type AppendOptions,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type EventSubscription,
  type JsonObject,
  type NewEvent,
  type PreparedAppend,
  type ReadStreamOptions,
  type RecordedEvent,
  PollingSubscription,
  StreamNotFoundError,
  assertValidStreamName,
  prepareAppend,
  type StoreIntegrity,
  type StreamHeadRecord,
} from '../../event-sourcing';
import { failureKind } from '../../shared/transient';
import { AppendBatcher, type BatchOutcomes } from '../shared/append-batcher';
import { SqliteAppendWriter } from './sqlite-append-writer';
import { EVENT_COLUMNS, type EventRowValues } from '../shared/event-row';
import { SqliteCheckpointer } from './sqlite-checkpointer';
import { openEventDatabase, type SqliteDatabaseOptions } from './sqlite-database';
import { asError } from '../../shared/as-error';

export type { SqliteSynchronous } from './sqlite-database';

/** Options for `SqliteEventStore`. */
export interface SqliteEventStoreOptions extends SqliteDatabaseOptions {
  /** Longest wait before a subscription notices another process's appends; default 250 ms. */
  readonly pollIntervalMs?: number;
  /**
   * Events this store appends before it moves WAL checkpoints to a thread of its own (see
   * `SqliteCheckpointer`); default 1000, so that short-lived stores (a CLI command, a test) start
   * no thread. `Infinity` keeps checkpoints in the commits, as SQLite does by default.
   */
  readonly checkpointThreadAfterEvents?: number;
}

// Statements run in raw mode (arrays in EVENT_COLUMNS order), which spares one object per
// event when reading the log.
type EventRow = EventRowValues;

/**
 * The embedded event store: one SQLite file in WAL mode, written through one connection with
 * group commit (see `AppendBatcher` and `SqliteAppendWriter`). better-sqlite3 is synchronous, so
 * a commit runs on the event loop; at ~1 ms for a batch of 50 that is cheaper than handing
 * batches to a worker thread, which we measured and dropped (see docs/design.md). WAL
 * checkpoints, the slow part of some commits, do run on a thread (`SqliteCheckpointer`).
 */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly writer: SqliteAppendWriter;
  private readonly batcher: AppendBatcher;
  private readonly appended = new EventEmitter();
  private readonly statements;
  private readonly pollIntervalMs: number;
  private readonly options: SqliteEventStoreOptions;
  private eventsUntilCheckpointThread: number;
  private checkpointer: SqliteCheckpointer | undefined;
  private closed = false;

  readonly integrity: StoreIntegrity = {
    gapFreePositions: true,
    readStreamHeads: (afterStreamName, maxCount) =>
      new Promise((resolve) =>
        resolve(this.statements.streamHeads.all(afterStreamName, maxCount) as StreamHeadRecord[]),
      ),
  };

  constructor(options: SqliteEventStoreOptions) {
    this.db = openEventDatabase(options);
    this.writer = new SqliteAppendWriter(this.db);
    this.statements = {
      ping: this.db.prepare('SELECT 1'),
      head: this.db.prepare('SELECT COALESCE(MAX(position), 0) FROM events').pluck(),
      exists: this.db.prepare('SELECT 1 FROM events WHERE stream_name = ? LIMIT 1'),
      readStreamForwards: this.db
        .prepare(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_name = ? AND revision >= ? ORDER BY revision LIMIT ?`,
        )
        .raw(),
      readStreamBackwards: this.db
        .prepare(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_name = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
        )
        .raw(),
      readAll: this.db
        .prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`)
        .raw(),
      streamHeads: this.db.prepare(
        'SELECT stream_name AS streamName, revision, hash FROM streams WHERE stream_name > ? ORDER BY stream_name LIMIT ?',
      ),
    };
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.options = options;
    this.eventsUntilCheckpointThread = options.checkpointThreadAfterEvents ?? 1000;
    this.batcher = new AppendBatcher((batch) => this.write(batch));
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
      return Promise.reject(asError(error));
    }
    return this.batcher.enqueue(prepared);
  }

  readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return new Promise((resolve) => {
      assertValidStreamName(streamName);
      const backwards = options.direction === 'backwards';
      const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
      const statement = backwards
        ? this.statements.readStreamBackwards
        : this.statements.readStreamForwards;
      const rows = statement.all(streamName, from, options.maxCount ?? -1) as EventRow[];
      if (rows.length === 0 && this.statements.exists.get(streamName) === undefined) {
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

  headPosition(): Promise<number> {
    return new Promise((resolve) => resolve(this.statements.head.get() as number));
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
      {
        pollIntervalMs: this.pollIntervalMs,
        // A read that meets a busy or failing file is tried again, not the end of the projection.
        retryable: (error) => !this.closed && failureKind(error) === 'transient',
      },
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
    await this.checkpointer?.close();
    this.appended.emit('appended');
    this.appended.removeAllListeners();
    this.db.close();
  }

  private write(batch: readonly PreparedAppend[]): BatchOutcomes {
    const outcomes = this.writer.writeBatch(batch);
    if (this.checkpointer) {
      this.checkpointer.committed();
    } else if (this.eventsUntilCheckpointThread !== Infinity) {
      for (const append of batch) this.eventsUntilCheckpointThread -= append.events.length;
      if (this.eventsUntilCheckpointThread <= 0) this.startCheckpointThread();
    }
    this.appended.emit('appended');
    return outcomes;
  }

  private startCheckpointThread(): void {
    this.eventsUntilCheckpointThread = Infinity;
    this.checkpointer = new SqliteCheckpointer(this.db, {
      fileName: this.options.fileName,
      synchronous: this.options.synchronous ?? 'NORMAL',
      busyTimeoutMs: this.options.busyTimeoutMs ?? 5000,
    });
    this.checkpointer.committed();
  }
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  const [
    position,
    eventId,
    streamName,
    revision,
    type,
    data,
    metadata,
    recordedAt,
    prevHash,
    hash,
  ] = row;
  return {
    eventId,
    streamName,
    revision,
    position,
    type,
    data: JSON.parse(data) as JsonObject,
    metadata: JSON.parse(metadata) as EventMetadata,
    recordedAt,
    prevHash,
    hash,
  };
}
