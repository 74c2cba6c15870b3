import { EventEmitter } from 'node:events';
import type { Pool, PoolClient, QueryResult } from 'pg';
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
  type StoreIntegrity,
  EventStoreError,
  PollingSubscription,
  StreamNotFoundError,
  assertValidStreamName,
  planAppend,
  prepareAppend,
} from '../../event-sourcing';
import { failureKind } from '../../shared/transient';
import { AppendBatcher } from '../shared/append-batcher';
import { migratePostgres } from './postgres-migrations';
import {
  type PostgresTimeouts,
  createPostgresPool,
  untilSucceeded,
  withClient,
} from './postgres-pool';
import { EVENT_COLUMNS, eventRowValues } from '../shared/event-row';

/** Options for `PostgresEventStore`. */
export interface PostgresEventStoreOptions {
  /** e.g. `postgres://postgres@127.0.0.1:5432/progress`. */
  readonly connectionString: string;
  /** Most pooled connections; default 10. */
  readonly maxConnections?: number;
  /** Longest wait before a subscription re-reads without a notification; default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Bounds on connecting and on each statement; default those of a 10 s request deadline. */
  readonly timeouts?: PostgresTimeouts;
  /**
   * How long to wait before trying again when the LISTEN connection is lost or cannot be made,
   * and between reads a subscription retries while the database is unreachable; default 1000 ms.
   */
  readonly reconnectDelayMs?: number;
  /** Test seam: runs inside every write transaction just before COMMIT. */
  readonly beforeCommit?: () => Promise<void>;
}

interface EventRow {
  position: string;
  event_id: string;
  stream_name: string;
  revision: string;
  type: string;
  data: JsonObject;
  metadata: EventMetadata;
  recorded_at: Date;
  prev_hash: string | null;
  hash: string;
}

const NOTIFY_CHANNEL = 'es_events_appended';
// Any constant works; it only has to be the same for every process creating the schema.
const SCHEMA_LOCK = 7_264_531;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS es_events (
  position    BIGINT      PRIMARY KEY,
  event_id    UUID        NOT NULL UNIQUE,
  stream_name TEXT        NOT NULL,
  revision    BIGINT      NOT NULL,
  type        TEXT        NOT NULL,
  data        JSON        NOT NULL,
  metadata    JSON        NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL,
  prev_hash   TEXT,
  hash        TEXT        NOT NULL,
  UNIQUE (stream_name, revision)
);
CREATE TABLE IF NOT EXISTS es_log_head (
  id            SMALLINT PRIMARY KEY CHECK (id = 1),
  last_position BIGINT   NOT NULL
);
INSERT INTO es_log_head (id, last_position) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;`;

/**
 * Version 2: each stream's head (last revision and hash), written with every append, so that
 * verification can tell a stream whose last events were removed; filled for existing logs.
 */
const STREAM_HEADS = `
CREATE TABLE es_streams (
  stream_name TEXT   PRIMARY KEY,
  revision    BIGINT NOT NULL,
  hash        TEXT   NOT NULL
);
INSERT INTO es_streams (stream_name, revision, hash)
  SELECT DISTINCT ON (stream_name) stream_name, revision, hash
    FROM es_events ORDER BY stream_name, revision DESC;`;

/**
 * PostgreSQL event store.
 *
 * The problem every PostgreSQL event store meets: a sequence hands out positions when rows are
 * inserted, not when they commit, so a reader can see position 11 while 10 is still in flight
 * and, checkpointing past it, skip 10 for ever. Marten's daemon waits for gaps to close (and
 * after a timeout skips them); Emmett orders by transaction id and reads only below
 * `pg_snapshot_xmin`. Here every write transaction first locks the single `es_log_head` row and
 * takes its positions from it, so positions are handed out in commit order and gap-free (a
 * rolled-back transaction rolls its positions back too): a reader that sees position n has
 * already been able to see everything before n. The price is that writers commit one at a
 * time; group commit (many appends per transaction) recovers the throughput.
 */
export class PostgresEventStore implements EventStore {
  private readonly pool: Pool;
  private readonly batcher: AppendBatcher;
  private readonly appended = new EventEmitter();
  private readonly schema: () => Promise<void>;
  private readonly reconnectDelayMs: number;
  // The connection that LISTENs for other processes' appends, once subscribed: made again
  // whenever it is lost, so that news from other instances keeps arriving after an outage.
  private listener: PoolClient | undefined;
  private listening: Promise<void> | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private wantsNotifications = false;
  private closed = false;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.pool = createPostgresPool(options.connectionString, {
      max: options.maxConnections ?? 10,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    this.reconnectDelayMs = options.reconnectDelayMs ?? 1000;
    // Made on first use, and again on the next use if the database was down at start-up.
    this.schema = untilSucceeded(() => this.createSchema());
    this.schema().catch(() => undefined);
    this.batcher = new AppendBatcher((batch) => this.writeBatch(batch));
    this.appended.setMaxListeners(0);
  }

  // Every operation waits for the schema first.
  private get ready(): Promise<void> {
    return this.schema();
  }

  /** Whether the LISTEN connection is up (notifications arrive); polling delivers meanwhile. */
  get notificationsConnected(): boolean {
    return this.listener !== undefined;
  }

  async append(
    streamName: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const prepared = prepareAppend(streamName, events, options.expectedRevision);
    await this.ready;
    return this.batcher.enqueue(prepared);
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertValidStreamName(streamName);
    await this.ready;
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events WHERE stream_name = $1 AND revision ${backwards ? '<=' : '>='} $2
       ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
      [streamName, from, options.maxCount ?? null],
    );
    if (rows.length === 0) {
      const exists = await this.pool.query(
        'SELECT 1 FROM es_events WHERE stream_name = $1 LIMIT 1',
        [streamName],
      );
      if (exists.rowCount === 0) throw new StreamNotFoundError(streamName);
    }
    return rows.map(toRecordedEvent);
  }

  async readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    await this.ready;
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events WHERE position > $1 ORDER BY position LIMIT $2`,
      [afterPosition, maxCount],
    );
    return rows.map(toRecordedEvent);
  }

  readonly integrity: StoreIntegrity = {
    gapFreePositions: true,
    readStreamHeads: async (afterStreamName, maxCount) => {
      await this.ready;
      const { rows } = await this.pool.query<{
        stream_name: string;
        revision: string;
        hash: string;
      }>(
        'SELECT stream_name, revision, hash FROM es_streams WHERE stream_name COLLATE "C" > $1 ORDER BY stream_name COLLATE "C" LIMIT $2',
        [afterStreamName, maxCount],
      );
      return rows.map((row) => ({
        streamName: row.stream_name,
        revision: Number(row.revision),
        hash: row.hash,
      }));
    },
  };

  async headPosition(): Promise<number> {
    await this.ready;
    const { rows } = await this.pool.query<{ last_position: string }>(
      'SELECT last_position FROM es_log_head WHERE id = 1',
    );
    return Number(rows[0]?.last_position ?? 0);
  }

  subscribeToAll(afterPosition: number): EventSubscription {
    this.wantsNotifications = true;
    this.listen();
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
        pollIntervalMs: this.options.pollIntervalMs ?? 1000,
        // While the database is unreachable the subscription waits and reads again, rather
        // than ending: it resumes where it stopped once the database is back.
        retryable: (error) => !this.closed && failureKind(error) === 'transient',
        retryDelayMs: this.reconnectDelayMs,
      },
    );
  }

  async ping(): Promise<void> {
    await this.ready;
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.batcher.close();
    this.appended.emit('appended');
    this.appended.removeAllListeners();
    clearTimeout(this.relisten);
    await this.listening;
    this.dropListener(this.listener);
    await this.pool.end();
  }

  private createSchema(): Promise<void> {
    return migratePostgres(this.pool, {
      versionTable: 'es_schema_version',
      lock: SCHEMA_LOCK,
      migrations: [
        { version: 1, sql: SCHEMA },
        { version: 2, sql: STREAM_HEADS },
      ],
    });
  }

  // Appends in this process wake subscribers directly; LISTEN brings news from other processes.
  // Polling delivers everything even without it, only later, so a failure here is never an
  // error: it is tried again after `reconnectDelayMs` for as long as the store is open.
  private listen(): void {
    if (this.closed || this.listener || this.listening) return;
    this.listening = (async () => {
      let client: PoolClient | undefined;
      try {
        client = await this.pool.connect();
        const connected = client;
        // A lost connection emits `error` (or just `end`) on a client lent out of the pool;
        // without a handler that error would crash the process.
        connected.on('error', () => this.lost(connected));
        connected.on('end', () => this.lost(connected));
        connected.on('notification', () => this.appended.emit('appended'));
        await connected.query(`LISTEN ${NOTIFY_CHANNEL}`);
        if (this.closed) {
          connected.release(true);
          return;
        }
        this.listener = connected;
        // Whatever other processes appended while nobody listened: read it now.
        this.appended.emit('appended');
      } catch {
        client?.release(true);
        this.scheduleListen();
      } finally {
        this.listening = undefined;
      }
    })();
  }

  private lost(client: PoolClient): void {
    if (this.listener !== client) return;
    this.dropListener(client);
    this.scheduleListen();
  }

  private dropListener(client: PoolClient | undefined): void {
    if (!client || this.listener !== client) return;
    this.listener = undefined;
    client.release(true);
  }

  private scheduleListen(): void {
    if (this.closed || !this.wantsNotifications || this.relisten) return;
    this.relisten = setTimeout(() => {
      this.relisten = undefined;
      this.listen();
    }, this.reconnectDelayMs);
    this.relisten.unref();
  }

  private writeBatch(batch: readonly PreparedAppend[]): Promise<Array<AppendResult | Error>> {
    return withClient(this.pool, (client) => this.writeBatchOn(client, batch));
  }

  private async writeBatchOn(
    client: PoolClient,
    batch: readonly PreparedAppend[],
  ): Promise<Array<AppendResult | Error>> {
    try {
      // The lock that orders all writers: positions are taken from this row, in commit order.
      // Sent with BEGIN in one round trip (simple protocol: no parameters).
      const [, locked] = (await client.query(
        'BEGIN; SELECT last_position FROM es_log_head WHERE id = 1 FOR UPDATE',
      )) as unknown as [unknown, QueryResult<{ last_position: string }>];
      let position = Number(locked.rows[0]!.last_position);
      const recordedAt = new Date().toISOString();
      const heads = await this.readHeads(client, batch);
      const existing = await this.readExisting(client, batch);

      const rows: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
      const written = new Map<string, StreamHead>();
      const outcomes = batch.map((append): AppendResult | Error => {
        try {
          const plan = planAppend(append, {
            recordedAt,
            head: (streamName) => heads.get(streamName),
            findEvent: (eventId) => existing.get(eventId),
          });
          if (plan.kind === 'already-appended') return plan.result;
          for (const event of plan.events) {
            position += 1;
            eventRowValues(event, position).forEach((value, column) => rows[column]!.push(value));
            existing.set(event.eventId, {
              streamName: event.streamName,
              revision: event.revision,
              position,
            });
          }
          const last = plan.events[plan.events.length - 1]!;
          heads.set(append.streamName, { revision: last.revision, hash: last.hash });
          written.set(append.streamName, { revision: last.revision, hash: last.hash });
          return { nextRevision: last.revision, position };
        } catch (error) {
          if (error instanceof EventStoreError) return error;
          throw error;
        }
      });

      if (rows[0]!.length > 0) {
        // Insert, move the log and stream heads and notify listeners (delivered at commit) in
        // one statement.
        const streams = [...written.keys()];
        await client.query(
          `WITH inserted AS (
             INSERT INTO es_events (${EVENT_COLUMNS})
             SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[],
                                  $6::json[], $7::json[], $8::timestamptz[], $9::text[], $10::text[])
           ), moved AS (
             UPDATE es_log_head SET last_position = $11 WHERE id = 1
           ), streams AS (
             INSERT INTO es_streams (stream_name, revision, hash)
             SELECT * FROM unnest($12::text[], $13::bigint[], $14::text[])
             ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision, hash = excluded.hash
           )
           SELECT pg_notify('${NOTIFY_CHANNEL}', $11::text)`,
          [
            ...rows,
            position,
            streams,
            streams.map((name) => written.get(name)!.revision),
            streams.map((name) => written.get(name)!.hash),
          ],
        );
      }
      await this.options.beforeCommit?.();
      await client.query('COMMIT');
      this.appended.emit('appended');
      return outcomes;
    } catch (error) {
      // A connection that failed that way is closed by withClient, which rolls back; a
      // ROLLBACK sent on it would only wait for the read timeout.
      if (failureKind(error) !== 'transient') await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private async readHeads(
    client: PoolClient,
    batch: readonly PreparedAppend[],
  ): Promise<Map<string, StreamHead>> {
    const names = [...new Set(batch.map((append) => append.streamName))];
    const { rows } = await client.query<{ name: string; revision: string; hash: string }>(
      `SELECT s.name, e.revision, e.hash
         FROM unnest($1::text[]) AS s(name)
         CROSS JOIN LATERAL (
           SELECT revision, hash FROM es_events WHERE stream_name = s.name ORDER BY revision DESC LIMIT 1
         ) AS e`,
      [names],
    );
    return new Map(
      rows.map((row) => [row.name, { revision: Number(row.revision), hash: row.hash }]),
    );
  }

  private async readExisting(
    client: PoolClient,
    batch: readonly PreparedAppend[],
  ): Promise<Map<string, ExistingEvent>> {
    const ids = batch.flatMap((append) =>
      append.events.filter((event) => event.idSupplied).map((event) => event.eventId),
    );
    if (ids.length === 0) return new Map();
    const { rows } = await client.query<{
      event_id: string;
      stream_name: string;
      revision: string;
      position: string;
    }>(
      'SELECT event_id, stream_name, revision, position FROM es_events WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(
      rows.map((row) => [
        row.event_id,
        {
          streamName: row.stream_name,
          revision: Number(row.revision),
          position: Number(row.position),
        },
      ]),
    );
  }
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    streamName: row.stream_name,
    revision: Number(row.revision),
    position: Number(row.position),
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at.toISOString(),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
