import type { NewEvent, RecordedEvent } from './event';

/**
 * What the caller believes about the stream before appending:
 * `no_stream` (it must not exist), `stream_exists` (it must), `any` (no check),
 * or the revision of the stream's last event.
 */
export type ExpectedRevision = 'no_stream' | 'any' | 'stream_exists' | number;

/** Options for `append`. */
export interface AppendOptions {
  /** Optimistic-concurrency check; defaults to `any`. */
  readonly expectedRevision?: ExpectedRevision;
}

/** What a successful append reports. */
export interface AppendResult {
  /** Revision of the stream's last event: pass it as `expectedRevision` next time. */
  readonly nextRevision: number;
  /** Global position of the last appended event. */
  readonly position: number;
}

/** Options for `readStream`. */
export interface ReadStreamOptions {
  /** `forwards` (oldest first, the default) or `backwards` (newest first). */
  readonly direction?: 'forwards' | 'backwards';
  /** First revision to return: inclusive; defaults to the start (or the end, backwards). */
  readonly fromRevision?: number;
  /** Most events to return; defaults to all. */
  readonly maxCount?: number;
}

/** A live feed of the global log: catches up, then stays live, until closed. */
export interface EventSubscription extends AsyncIterable<RecordedEvent> {
  /** Ends the subscription: a pending iteration finishes and no more events are delivered. */
  close(): Promise<void>;
}

/** Position before the first event: read or subscribe from here to see everything. */
export const START_POSITION = 0;

/** A stream's head as the store recorded it with the stream's last append. */
export type StreamHeadRecord = {
  readonly streamName: string;
  readonly revision: number;
  readonly hash: string;
};

/**
 * What a store keeps, beyond the events, that lets verification find removed events
 * (the embedded SQLite and the PostgreSQL stores keep it; EventStoreDB does not expose it).
 */
export interface StoreIntegrity {
  /** Positions run 1, 2, 3… without gaps: a missing position is a removed event. */
  readonly gapFreePositions: boolean;
  /** Each stream's recorded head, in stream-name order, after `afterStreamName` ('' for the first). */
  readStreamHeads(afterStreamName: string, maxCount: number): Promise<StreamHeadRecord[]>;
}

/** The port every event-store adapter implements. */
export interface EventStore {
  /** Present when the store keeps stream heads and gap-free positions (see `StoreIntegrity`). */
  readonly integrity?: StoreIntegrity;

  /**
   * Appends events to one stream atomically, after checking `expectedRevision`.
   * Re-appending events whose caller-chosen `eventId`s are already stored, in the same order
   * in the same stream, is idempotent: the first result is returned and nothing is written.
   */
  append(
    streamName: string,
    events: readonly NewEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult>;

  /** Reads one stream; throws `StreamNotFoundError` when the stream has no events. */
  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  /** Reads the global log: up to `maxCount` events with a position after `afterPosition`. */
  readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]>;

  /** The position of the latest event in the log (0 when empty): how far readers have to go. */
  headPosition(): Promise<number>;

  /** Every event after `afterPosition`, in order, then each new one as it is appended. */
  subscribeToAll(afterPosition: number): EventSubscription;

  /** Resolves once the store answers (used by readiness checks); rejects otherwise. */
  ping(): Promise<void>;

  /** Releases connections and ends open subscriptions. */
  close(): Promise<void>;
}

/**
 * Injection token of the configured `EventStore` (the port above), for the application's wiring:
 * an `UpcastingEventStore`, so what is read from it is in the current shape of each event type.
 */
export const EVENT_STORE = Symbol('EventStore');

/**
 * Injection token of the same log as stored (`StoredEventLog`): for what checks hashes only
 * (chain verification, digests).
 */
export const STORED_EVENT_LOG = Symbol('StoredEventLog');
