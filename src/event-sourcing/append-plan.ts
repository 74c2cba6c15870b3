import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { EventMetadata, JsonObject, NewEvent, RecordedEvent } from './event';
import type { AppendResult, ExpectedRevision } from './event-store';
import {
  DuplicateEventIdError,
  EmptyAppendError,
  EventTooLargeError,
  InvalidEventError,
  WrongExpectedRevisionError,
} from './errors';
import { canonicalJson, hashEventEnvelope } from './event-hash';
import { assertValidStreamName } from './stream-name';

/**
 * Largest event accepted, counting its data and metadata as UTF-8 JSON: 2 MiB. Big enough for
 * a 1 MB payload with room to spare, small enough that one event never dominates a read batch.
 * EventStoreDB's own default append limit is 1 MiB, so its deployment raises it (see
 * docker-compose.yml).
 */
export const MAX_EVENT_BYTES = 2 * 1024 * 1024;

const MAX_EVENT_TYPE_LENGTH = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One event of an append after validation, encoded once for every adapter. */
export interface PreparedEvent {
  readonly eventId: string;
  /** True when the caller chose the id, so a match in the store may be a retry. */
  readonly idSupplied: boolean;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: EventMetadata;
  readonly dataJson: string;
  readonly metadataJson: string;
  /** The caller's `recordedAt` (a copied log's); absent: the store's time of the append. */
  readonly recordedAt?: string;
}

/** A validated append request. */
export interface PreparedAppend {
  readonly streamName: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: readonly PreparedEvent[];
}

/** An event planned for writing: everything but the global position, which the adapter assigns. */
export type PlannedEvent = Omit<RecordedEvent, 'position'> & {
  readonly dataJson: string;
  readonly metadataJson: string;
};

/** The last event of a stream, as far as appending needs to know. */
export interface StreamHead {
  readonly revision: number;
  readonly hash: string;
}

/** Where an existing event sits, for recognising a retried append. */
export interface ExistingEvent {
  readonly streamName: string;
  readonly revision: number;
  readonly position: number;
}

/** What an adapter tells the planner about the store, as seen inside its write transaction. */
export interface AppendContext {
  /** The stream's last event, or undefined when the stream does not exist. */
  head(streamName: string): StreamHead | undefined;
  /** The stored event with this id, if any. */
  findEvent(eventId: string): ExistingEvent | undefined;
  /** The time the store records for this append (ISO 8601, UTC), unless an event brings its own. */
  readonly recordedAt: string;
}

/** The planner's verdict: write these events, or the append was already done. */
export type AppendPlan =
  | { readonly kind: 'write'; readonly events: readonly PlannedEvent[] }
  | { readonly kind: 'already-appended'; readonly result: AppendResult };

/**
 * Validates an append before any I/O: stream name, at least one event, well-formed events and
 * the size limit. Throws the matching `EventStoreError`.
 */
export function prepareAppend(
  streamName: string,
  events: readonly NewEvent[],
  expectedRevision: ExpectedRevision = 'any',
): PreparedAppend {
  assertValidStreamName(streamName);
  if (events.length === 0) throw new EmptyAppendError(streamName);
  assertValidExpectedRevision(streamName, expectedRevision);
  const seen = new Set<string>();
  const prepared = events.map((event): PreparedEvent => {
    if (
      typeof event.type !== 'string' ||
      event.type.length === 0 ||
      event.type.length > MAX_EVENT_TYPE_LENGTH
    ) {
      throw new InvalidEventError(
        streamName,
        `type must be a string of 1 to ${MAX_EVENT_TYPE_LENGTH} characters`,
      );
    }
    // `$` starts the types of system events (EventStoreDB's own, in $all): every adapter refuses
    // it, so an event stored on one store is never invisible on another.
    if (event.type.startsWith('$')) {
      throw new InvalidEventError(
        streamName,
        `type '${event.type}' must not start with '$' (reserved for system events)`,
      );
    }
    if (event.data === null || typeof event.data !== 'object' || Array.isArray(event.data)) {
      throw new InvalidEventError(streamName, `data of '${event.type}' must be a JSON object`);
    }
    if (event.metadata === null || typeof event.metadata !== 'object') {
      throw new InvalidEventError(streamName, `metadata of '${event.type}' is missing`);
    }
    const idSupplied = event.eventId !== undefined;
    const eventId = idSupplied ? String(event.eventId).toLowerCase() : timeOrderedUuid();
    if (idSupplied && !UUID.test(eventId)) {
      throw new InvalidEventError(streamName, `eventId '${String(event.eventId)}' is not a UUID`);
    }
    if (seen.has(eventId)) {
      throw new InvalidEventError(streamName, `eventId ${eventId} appears twice in one append`);
    }
    seen.add(eventId);
    // Canonical JSON is what the hash covers and what is stored, so it is computed once here.
    let dataJson: string;
    let metadataJson: string;
    try {
      dataJson = canonicalJson(event.data);
      metadataJson = canonicalJson(event.metadata);
    } catch (error) {
      throw new InvalidEventError(
        streamName,
        `'${event.type}' cannot be stored as JSON: ${(error as Error).message}`,
      );
    }
    const size = Buffer.byteLength(dataJson, 'utf8') + Buffer.byteLength(metadataJson, 'utf8');
    if (size > MAX_EVENT_BYTES)
      throw new EventTooLargeError(streamName, event.type, size, MAX_EVENT_BYTES);
    if (event.recordedAt !== undefined && !isCanonicalInstant(event.recordedAt)) {
      throw new InvalidEventError(
        streamName,
        `recordedAt of '${event.type}' must be an ISO 8601 UTC instant as Date.toISOString writes it (e.g. 2025-11-10T02:00:00.000Z), not ${JSON.stringify(event.recordedAt)}`,
      );
    }
    // One shape for every event (recordedAt undefined when absent): spreading an optional
    // field in cost an extra object per event.
    return {
      eventId,
      idSupplied,
      type: event.type,
      data: event.data,
      metadata: event.metadata,
      dataJson,
      metadataJson,
      recordedAt: event.recordedAt,
    };
  });
  return { streamName, expectedRevision, events: prepared };
}

/**
 * Decides one append against the store's current state: recognises a retry of events already
 * stored, checks the expected revision, and chains the new events' hashes onto the stream's.
 * Pure: the adapter supplies what it read inside its write transaction.
 */
export function planAppend(append: PreparedAppend, context: AppendContext): AppendPlan {
  const { streamName, expectedRevision, events } = append;
  const retried = findRetry(append, context);
  if (retried) return { kind: 'already-appended', result: retried };

  const head = context.head(streamName);
  const actual = head ? head.revision : 'no_stream';
  const ok =
    expectedRevision === 'any' ||
    (expectedRevision === 'no_stream' && head === undefined) ||
    (expectedRevision === 'stream_exists' && head !== undefined) ||
    (typeof expectedRevision === 'number' && head?.revision === expectedRevision);
  if (!ok) throw new WrongExpectedRevisionError(streamName, expectedRevision, actual);

  let revision = head ? head.revision : -1;
  let prevHash: string | null = head ? head.hash : null;
  // One object per event: the fields, the envelope's hash, and the encoded JSON (building the
  // fields, then a copy to hash, then a copy with the hash cost three).
  const planned: PlannedEvent[] = [];
  for (const event of events) {
    revision += 1;
    const recordedAt = event.recordedAt ?? context.recordedAt;
    const { eventId, type, dataJson, metadataJson } = event;
    const hash = hashEventEnvelope(
      streamName,
      revision,
      eventId,
      type,
      dataJson,
      metadataJson,
      recordedAt,
      prevHash,
    );
    planned.push({
      streamName,
      revision,
      eventId,
      type,
      data: event.data,
      metadata: event.metadata,
      recordedAt,
      prevHash,
      hash,
      dataJson,
      metadataJson,
    });
    prevHash = hash;
  }
  return { kind: 'write', events: planned };
}

// A retry is the same ids, in the same order, already stored consecutively in the same stream.
// Any other overlap with stored ids is a caller error, never silently half-applied.
function findRetry(append: PreparedAppend, context: AppendContext): AppendResult | undefined {
  const supplied = append.events.filter((event) => event.idSupplied);
  if (supplied.length === 0) return undefined;
  const found = supplied.map((event) => context.findEvent(event.eventId));
  const firstFound = found.findIndex((existing) => existing !== undefined);
  if (firstFound === -1) return undefined;
  const first = found[0];
  const isRetry =
    supplied.length === append.events.length &&
    first !== undefined &&
    found.every(
      (existing, index) =>
        existing !== undefined &&
        existing.streamName === append.streamName &&
        existing.revision === first.revision + index,
    );
  if (!isRetry) throw new DuplicateEventIdError(append.streamName, supplied[firstFound]!.eventId);
  const last = found[found.length - 1]!;
  return { nextRevision: last.revision, position: last.position };
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered ids make the
 * event-id index grow at its end instead of dirtying a random page per insert, which halves
 * what a group commit writes. Built from `randomUUID()` (whose variant bits v7 shares) because
 * Node's pooled entropy makes that ~40x faster than generating the random bytes per id.
 */
export function timeOrderedUuid(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

// Only the one spelling of an instant: the text is hashed, and PostgreSQL (timestamptz) gives
// back exactly this form, so a copied event hashes the same in every adapter.
function isCanonicalInstant(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}

function assertValidExpectedRevision(streamName: string, expected: ExpectedRevision): void {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
    throw new InvalidEventError(
      streamName,
      `expectedRevision must be 'any', 'no_stream', 'stream_exists' or a revision >= 0, not ${String(expected)}`,
    );
  }
}

/**
 * A name-based UUID (version 5 layout over SHA-256): the same name always gives the same id,
 * so an id derived from what identifies a thing makes a second creation meet the first.
 */
export function nameBasedUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
