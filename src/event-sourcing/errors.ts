import type { ExpectedRevision } from './event-store';

/** Every error the event-sourcing core raises: a stable `code` that callers can switch on. */
export abstract class EventStoreError extends Error {
  /** Stable machine-readable code; never changes once published. */
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The stream's current revision differs from what the caller expected. */
export class WrongExpectedRevisionError extends EventStoreError {
  readonly code = 'WRONG_EXPECTED_REVISION';

  constructor(
    readonly streamName: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual revision, or `no_stream` when it does not exist. */
    readonly actual: number | 'no_stream',
  ) {
    super(
      `Stream '${streamName}' is at ${actual === 'no_stream' ? 'no stream' : `revision ${actual}`}, but the append expected ${describeExpected(expected)}; read the stream again and retry.`,
    );
  }
}

/**
 * The caller decided on a revision of the stream that is no longer its latest (HTTP
 * `If-Match`): read again and decide again. Carries the current revision for the new ETag.
 */
export class StaleRevisionError extends EventStoreError {
  readonly code = 'STALE_REVISION';

  constructor(
    readonly streamName: string,
    readonly expected: number,
    /** The stream's revision now (-1: no stream). */
    readonly actual: number,
  ) {
    super(`The stream changed since revision ${expected} (now ${actual}); read it again.`);
  }
}

/** A stream that must exist does not. */
export class StreamNotFoundError extends EventStoreError {
  readonly code = 'STREAM_NOT_FOUND';

  constructor(readonly streamName: string) {
    super(`Stream '${streamName}' does not exist.`);
  }
}

/** A stream name that the store will not accept. */
export class InvalidStreamNameError extends EventStoreError {
  readonly code = 'INVALID_STREAM_NAME';

  constructor(
    readonly streamName: string,
    readonly reason: string,
  ) {
    super(`Invalid stream name '${streamName}': ${reason}.`);
  }
}

/** An append with no events: a caller bug, since it would record nothing. */
export class EmptyAppendError extends EventStoreError {
  readonly code = 'EMPTY_APPEND';

  constructor(readonly streamName: string) {
    super(`Append to stream '${streamName}' has no events; pass at least one.`);
  }
}

/** An event whose encoded data and metadata exceed the store's per-event limit. */
export class EventTooLargeError extends EventStoreError {
  readonly code = 'EVENT_TOO_LARGE';

  constructor(
    readonly streamName: string,
    readonly eventType: string,
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `Event '${eventType}' for stream '${streamName}' is ${sizeBytes} bytes; the limit is ${limitBytes} bytes (data and metadata as UTF-8 JSON). Store large files elsewhere and reference them.`,
    );
  }
}

/** An event that is not well formed (bad id, empty type, data that is not a JSON object). */
export class InvalidEventError extends EventStoreError {
  readonly code = 'INVALID_EVENT';

  constructor(
    readonly streamName: string,
    readonly reason: string,
  ) {
    super(`Invalid event for stream '${streamName}': ${reason}.`);
  }
}

/** An event id that already names a different event, so the append cannot be a retry. */
export class DuplicateEventIdError extends EventStoreError {
  readonly code = 'DUPLICATE_EVENT_ID';

  constructor(
    readonly streamName: string,
    readonly eventId: string,
  ) {
    super(
      `Event id ${eventId} is already used by another event, so this append to '${streamName}' is neither new nor a retry; use a fresh id.`,
    );
  }
}

/** A command kept losing optimistic-concurrency races and gave up after its retries. */
export class ConcurrencyConflictError extends EventStoreError {
  readonly code = 'CONCURRENCY_CONFLICT';

  constructor(
    readonly streamName: string,
    readonly attempts: number,
  ) {
    super(
      `Stream '${streamName}' kept changing while the command was decided (${attempts} attempts); try again.`,
    );
  }
}

function describeExpected(expected: ExpectedRevision): string {
  switch (expected) {
    case 'no_stream':
      return 'no stream';
    case 'stream_exists':
      return 'an existing stream';
    case 'any':
      return 'any revision';
    default:
      return `revision ${expected}`;
  }
}
