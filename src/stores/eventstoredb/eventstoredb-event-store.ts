import {
  BACKWARDS,
  CancelledError,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  FORWARDS,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  START,
  StreamNotFoundError as EsdbStreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamSubscription,
  type Position,
  type StreamingRead,
} from '@eventstore/db-client';
import {
  type AppendOptions,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type EventSubscription,
  type JsonObject,
  type NewEvent,
  type PlannedEvent,
  type ReadStreamOptions,
  type RecordedEvent,
  ConcurrencyConflictError,
  EventTooLargeError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  assertValidStreamName,
  planAppend,
  prepareAppend,
} from '../../event-sourcing';

/** Where the adapter reports what it retries (Nest's `Logger` fits). */
export interface EventStoreDbLog {
  warn(message: string): void;
}

/** Options for `EventStoreDbEventStore`. */
export interface EventStoreDbOptions {
  /** e.g. `esdb://localhost:2113?tls=false`; a cluster: see docs/eventstoredb.md. */
  readonly connectionString: string;
  /** How many times an append is tried (lost races, ambiguous failures); default 5. */
  readonly maxAppendAttempts?: number;
  /**
   * Bound on each short read: `ping`, a stream's tail before an append, `headPosition`; default
   * 10 s. The client opens every read with no deadline at all, so the adapter cancels the call.
   */
  readonly readTimeoutMs?: number;
  /** Bound on one page of `readAll` and on one `readStream`; default 60 s. */
  readonly pageTimeoutMs?: number;
  /** First pause before retrying an append or resubscribing (doubles, jittered); default 100 ms. */
  readonly retryBaseMs?: number;
  /** Longest pause between retries; default 5 s. */
  readonly retryMaxMs?: number;
  /** Receives one line per retry. */
  readonly log?: EventStoreDbLog;
  /** A client to use instead of one made from `connectionString` (closed with the store). */
  readonly client?: EventStoreDBClient;
}

/** What we keep in an EventStoreDB event's metadata besides our own `EventMetadata`. */
interface StoredMetadata {
  readonly metadata: EventMetadata;
  readonly recordedAt: string;
  readonly prevHash: string | null;
  readonly hash: string;
  readonly $correlationId: string;
  readonly $causationId: string | null;
}

interface EsdbEvent {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly position?: Position;
}

interface EsdbResolved {
  readonly event?: EsdbEvent;
}

/**
 * Servers before 22.6 give events read from a stream (not from `$all`) no commit position: the
 * client then shows 2^64 - 1 (or 2^63 - 1). Anything at or above this is "unknown".
 */
const UNKNOWN_POSITION = 2n ** 63n - 1n;
/** How many records of `$all` `headPosition` reads per page, newest first. */
const HEAD_PAGE = 500;

/** An event in `$all` that is not ours: EventStoreDB's own (`$` type) or in a `$` stream. */
function isSystemEvent(event: EsdbEvent): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$');
}

/**
 * A read that EventStoreDB did not finish within the adapter's bound (the call is cancelled).
 * Its `code` is the network's `ETIMEDOUT`, so it is classified as transient like a stalled
 * PostgreSQL: the request gets `503 STORE_UNAVAILABLE` with `Retry-After`, never a 500.
 */
export class EventStoreDbTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`EventStoreDB did not finish ${what} within ${timeoutMs} ms; the call was cancelled.`);
    this.name = 'EventStoreDbTimeoutError';
  }
}

/** An event in the service's streams that the service did not write (no metadata of ours). */
export class ForeignEventError extends Error {
  constructor(
    readonly streamName: string,
    readonly revision: number,
    readonly eventId: string,
    readonly eventType: string,
  ) {
    super(
      `Event ${eventId} ('${eventType}', revision ${revision} of '${streamName}') was not written by this service: its metadata lacks the envelope (recordedAt, hashes, metadata) or its data is not a JSON object. Keep other writers out of the service's database, or give their events '$'-prefixed types.`,
    );
    this.name = 'ForeignEventError';
  }
}

/**
 * EventStoreDB put an append somewhere else than the head read before it: the stream was
 * truncated or soft-deleted behind the service's back, so its hash chain no longer holds.
 */
export class StreamRevisionMismatchError extends Error {
  constructor(
    readonly streamName: string,
    readonly plannedRevision: number,
    readonly actualRevision: number,
  ) {
    super(
      `EventStoreDB stored the append to '${streamName}' up to revision ${actualRevision}, but it was planned up to ${plannedRevision}: the stream was truncated or soft-deleted outside the service and its hash chain is broken. The events were written; investigate before writing to it again.`,
    );
    this.name = 'StreamRevisionMismatchError';
  }
}

/**
 * The kinds of failure the client itself reconnects on: the server may still be fine (a
 * leader change, a dropped connection). Everything else (access denied, a bad request) is not
 * going to pass by retrying.
 */
export function isTransientEsdbError(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof CancelledError ||
    error instanceof NotLeaderError ||
    error instanceof DeadlineExceededError
  );
}

// After these, an append may or may not have been written: the shared batch-append stream of
// the client failed (which rejects every append in flight), or the server gave up waiting.
function isAmbiguousAppendFailure(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof CancelledError
  );
}

/**
 * EventStoreDB adapter, for deployments that outgrow one machine (docs/eventstoredb.md).
 *
 * Positions are EventStoreDB commit positions (log offsets: increasing, not contiguous). Servers
 * from 22.6 on also give them to events read from a single stream; older ones do not, and such
 * events carry position -1.
 *
 * `$all` also holds the server's own records: every read, the head and the subscription leave
 * out the same ones (`$`-prefixed types, which `prepareAppend` refuses for our events, and
 * `$`-prefixed streams), and an event in the remaining ones that lacks our envelope is an error
 * (`ForeignEventError`), never a crash or a silent skip.
 *
 * The hash chain needs the previous event's hash, so every append reads the stream's head (from
 * the leader) and appends with that exact revision; when another writer gets in between, it
 * re-reads and re-plans, so the caller's own expected revision is still honoured exactly. After
 * a failure that leaves unknown whether the append was written, it re-reads and looks for the
 * planned event ids before trying again, so an append is never written twice.
 *
 * Every read is cancelled when the adapter is done with it (leaving a `for await` early does not
 * end the gRPC call) and bounded by a timer (the client gives reads no deadline).
 *
 * `recordedAt` is ours, kept in each event's metadata beside its hashes, so an event copied with
 * its original `recordedAt` (the encrypt-log migration) keeps it here as in the SQL stores; the
 * server's own `created` stamp cannot be set and shows the time of the copy.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly client: EventStoreDBClient;
  private readonly subscriptions = new Set<EventSubscription>();
  private readonly readTimeoutMs: number;
  private readonly pageTimeoutMs: number;
  private readonly backoff: Backoff;

  constructor(private readonly options: EventStoreDbOptions) {
    this.client = options.client ?? EventStoreDBClient.connectionString(options.connectionString);
    this.readTimeoutMs = options.readTimeoutMs ?? 10_000;
    this.pageTimeoutMs = options.pageTimeoutMs ?? 60_000;
    this.backoff = new Backoff(options.retryBaseMs ?? 100, options.retryMaxMs ?? 5000);
  }

  async append(
    streamName: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const prepared = prepareAppend(streamName, events, options.expectedRevision);
    const attempts = Math.max(1, this.options.maxAppendAttempts ?? 5);
    // The events of an attempt that failed without telling whether it was written.
    let uncertain: readonly PlannedEvent[] | undefined;
    for (let attempt = 1; ; attempt += 1) {
      if (uncertain) {
        const found = await this.findWritten(streamName, uncertain);
        if (found) return found;
        uncertain = undefined;
      }
      const tail = await this.readTail(streamName, prepared.events.length);
      const head = tail[0];
      const plan = planAppend(prepared, {
        recordedAt: new Date().toISOString(),
        head: () => head && { revision: head.revision, hash: head.hash },
        findEvent: (eventId) => tail.find((event) => event.eventId === eventId),
      });
      if (plan.kind === 'already-appended') return plan.result;
      const planned = plan.events;
      const last = planned[planned.length - 1]!;
      let written: { nextExpectedRevision: bigint; position?: Position };
      try {
        written = await this.client.appendToStream(streamName, planned.map(toEsdbEvent), {
          expectedRevision: head ? BigInt(head.revision) : NO_STREAM,
        });
      } catch (error) {
        if (error instanceof MaxAppendSizeExceededError) throw tooLarge(streamName, planned, error);
        if (isAmbiguousAppendFailure(error)) {
          // Written or not? Look (for the plan's own ids) before trying again.
          uncertain = planned;
          if (attempt >= attempts) {
            const found = await this.findWritten(streamName, planned).catch(() => undefined);
            if (found) return found;
            throw error;
          }
          const pause = this.backoff.delay(attempt);
          this.options.log?.warn(
            `append to '${streamName}' failed (${describe(error)}); looking for its events, then attempt ${attempt + 1} of ${attempts} in ${pause} ms`,
          );
          await sleep(pause);
          continue;
        }
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (attempt >= attempts) {
          // The caller's expectation held every time (any, stream_exists): other writers kept
          // winning the race, which is contention, not a wrong expectation.
          if (prepared.expectedRevision === 'any' || prepared.expectedRevision === 'stream_exists')
            throw new ConcurrencyConflictError(streamName, attempts);
          const actual =
            error.actualVersion === NO_STREAM ? 'no_stream' : Number(error.actualVersion);
          throw new WrongExpectedRevisionError(streamName, prepared.expectedRevision, actual);
        }
        // Another writer moved the head: re-read, and let planAppend judge the caller's
        // expectation. An exact one is decided by that read; `any` and `stream_exists` race
        // again, so they wait a jittered while first.
        if (prepared.expectedRevision === 'any' || prepared.expectedRevision === 'stream_exists')
          await sleep(this.backoff.delay(attempt));
        continue;
      }
      if (written.nextExpectedRevision !== BigInt(last.revision))
        throw new StreamRevisionMismatchError(
          streamName,
          last.revision,
          Number(written.nextExpectedRevision),
        );
      return { nextRevision: last.revision, position: toPosition(written.position) };
    }
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertValidStreamName(streamName);
    const backwards = options.direction === 'backwards';
    const events: RecordedEvent[] = [];
    try {
      await this.consume(
        this.client.readStream(streamName, {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision:
            options.fromRevision === undefined
              ? backwards
                ? END
                : START
              : BigInt(options.fromRevision),
          ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
        }),
        `reading '${streamName}'`,
        this.pageTimeoutMs,
        (resolved) => {
          if (resolved.event) events.push(toRecordedEvent(resolved.event));
        },
      );
    } catch (error) {
      if (error instanceof EsdbStreamNotFoundError) throw new StreamNotFoundError(streamName);
      throw error;
    }
    if (events.length === 0 && (await this.readTail(streamName, 1)).length === 0) {
      throw new StreamNotFoundError(streamName);
    }
    return events;
  }

  async readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    if (!(maxCount > 0)) return [];
    const events: RecordedEvent[] = [];
    // $all reads include their start, and also hold system records: page from the last record
    // seen, leaving out everything at or before it, until maxCount of ours or the end.
    let after: Position | undefined = afterPosition > 0 ? positionOf(afterPosition) : undefined;
    for (;;) {
      const want = maxCount - events.length + 1;
      let seen = 0;
      await this.consume(
        this.client.readAll({ fromPosition: after ?? START, maxCount: want, direction: FORWARDS }),
        'a page of $all',
        this.pageTimeoutMs,
        (resolved) => {
          seen += 1;
          const event = resolved.event;
          if (!event?.position || (after && !isAfter(event.position, after))) return false;
          if (!isSystemEvent(event)) events.push(toRecordedEvent(event));
          after = event.position;
          return events.length >= maxCount;
        },
      );
      if (events.length >= maxCount || seen < want) return events;
    }
  }

  async headPosition(): Promise<number> {
    // The newest of our events in $all: page back past system records until one of ours.
    let before: Position | undefined;
    for (;;) {
      let seen = 0;
      let found: Position | undefined;
      await this.consume(
        this.client.readAll({
          fromPosition: before ?? END,
          direction: BACKWARDS,
          maxCount: HEAD_PAGE,
        }),
        'the head of $all',
        this.readTimeoutMs,
        (resolved) => {
          seen += 1;
          const event = resolved.event;
          if (!event?.position || (before && !isAfter(before, event.position))) return false;
          before = event.position;
          if (isSystemEvent(event)) return false;
          found = event.position;
          return true;
        },
      );
      if (found) return toPosition(found);
      if (seen < HEAD_PAGE) return 0;
    }
  }

  subscribeToAll(afterPosition: number): EventSubscription {
    const subscription = new EsdbSubscription(
      this.client,
      afterPosition,
      this.backoff,
      this.options.log,
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async ping(): Promise<void> {
    await this.consume(
      this.client.readAll({ maxCount: 1 }),
      'a ping',
      this.readTimeoutMs,
      () => true,
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  /**
   * Feeds a read to `visit` until it answers true, the read ends, or the timer runs out; then
   * cancels the gRPC call, which leaving a `for await` would not. The read is kept flowing to
   * its end even so: a call whose last responses were never consumed never ends, and the
   * client's `dispose()` waits for every call it made to end.
   */
  private consume<E>(
    read: StreamingRead<E>,
    what: string,
    timeoutMs: number,
    visit: (item: E) => boolean | void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        read.off('data', onData);
        read.on('data', ignore);
        read.on('error', ignore);
        void read
          .cancel()
          .catch(ignore)
          .then(() => (error === undefined ? resolve() : reject(error as Error)));
      };
      const onData = (item: E) => {
        try {
          if (visit(item) === true) finish();
        } catch (error) {
          finish(error);
        }
      };
      const timer = setTimeout(
        () => finish(new EventStoreDbTimeoutError(what, timeoutMs)),
        timeoutMs,
      );
      read.on('data', onData);
      read.once('end', () => finish());
      read.once('error', (error) => finish(error));
    });
  }

  // The stream's newest events, newest first, read from the leader (a follower may lag).
  private async readTail(streamName: string, count: number): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      await this.consume(
        this.client.readStream(streamName, {
          direction: BACKWARDS,
          fromRevision: END,
          maxCount: count,
          requiresLeader: true,
        }),
        `the head of '${streamName}'`,
        this.readTimeoutMs,
        (resolved) => {
          if (resolved.event) events.push(toRecordedEvent(resolved.event));
        },
      );
      return events;
    } catch (error) {
      if (error instanceof EsdbStreamNotFoundError) return [];
      throw error;
    }
  }

  // After an ambiguous failure: are the planned events stored where they were planned?
  private async findWritten(
    streamName: string,
    planned: readonly PlannedEvent[],
  ): Promise<AppendResult | undefined> {
    const stored: RecordedEvent[] = [];
    try {
      await this.consume(
        this.client.readStream(streamName, {
          direction: FORWARDS,
          fromRevision: BigInt(planned[0]!.revision),
          maxCount: planned.length,
          requiresLeader: true,
        }),
        `'${streamName}' after a failed append`,
        this.readTimeoutMs,
        (resolved) => {
          if (resolved.event) stored.push(toRecordedEvent(resolved.event));
        },
      );
    } catch (error) {
      if (error instanceof EsdbStreamNotFoundError) return undefined;
      throw error;
    }
    const same =
      stored.length === planned.length &&
      stored.every((event, i) => event.eventId === planned[i]!.eventId);
    if (!same) return undefined;
    const last = stored[stored.length - 1]!;
    return { nextRevision: last.revision, position: last.position };
  }
}

/**
 * A catch-up subscription to `$all`, filtered server-side to non-system event types. It survives
 * the failures the client itself reconnects on (unavailable, cancelled by the server, not
 * leader, deadline exceeded): it logs each, resubscribes from the last delivered position with
 * jittered exponential backoff, and drops anything at or before that position, so nothing
 * repeats. Any other failure (access denied, a bad position or filter, an event it cannot
 * convert) ends the iteration with that error, for the runner to report. An event counts as
 * delivered only once converted.
 */
class EsdbSubscription implements EventSubscription {
  private closed = false;
  private current: AllStreamSubscription | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly afterPosition: number,
    private readonly backoff: Backoff,
    private readonly log: EventStoreDbLog | undefined,
    private readonly onClose: () => void,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    let last: Position | undefined =
      this.afterPosition > 0 ? positionOf(this.afterPosition) : undefined;
    let failures = 0;
    try {
      while (!this.closed) {
        const subscription = this.client.subscribeToAll({
          fromPosition: last ?? START,
          filter: excludeSystemEvents(),
        });
        this.current = subscription;
        let reason: string;
        try {
          for await (const resolved of subscription as AsyncIterable<EsdbResolved>) {
            const event = resolved.event;
            if (!event?.position || (last && !isAfter(event.position, last))) continue;
            if (isSystemEvent(event)) {
              last = event.position;
              continue;
            }
            const recorded = toRecordedEvent(event);
            last = event.position;
            failures = 0;
            yield recorded;
            if (this.closed) return;
          }
          reason = 'the server ended it';
        } catch (error) {
          if (this.closed) return;
          if (!isTransientEsdbError(error)) throw error;
          reason = describe(error);
        } finally {
          await subscription.unsubscribe().catch(() => undefined);
        }
        if (this.closed) return;
        failures += 1;
        const pause = this.backoff.delay(failures);
        this.log?.warn(
          `subscription to $all dropped (${reason}); resubscribing after position ${last ? String(last.commit) : 'start'} in ${pause} ms (retry ${failures})`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    } finally {
      this.closed = true;
      this.onClose();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.onClose();
    const current = this.current;
    if (current) {
      await current.unsubscribe().catch(() => undefined);
      current.destroy();
    }
  }
}

/** Exponential backoff with full jitter. */
class Backoff {
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** The pause before retry number `attempt` (1 for the first). */
  delay(attempt: number): number {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(cap / 2 + (Math.random() * cap) / 2);
  }
}

function ignore(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}

function toEsdbEvent(event: PlannedEvent) {
  const metadata: StoredMetadata = {
    metadata: event.metadata,
    recordedAt: event.recordedAt,
    prevHash: event.prevHash,
    hash: event.hash,
    $correlationId: event.metadata.correlationId,
    $causationId: event.metadata.causationId,
  };
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    data: event.data,
    metadata: { ...metadata },
  });
}

function tooLarge(
  streamName: string,
  planned: readonly PlannedEvent[],
  error: MaxAppendSizeExceededError,
): EventTooLargeError {
  const sizes = planned.map(
    (event) => Buffer.byteLength(event.dataJson) + Buffer.byteLength(event.metadataJson),
  );
  const largest = sizes.indexOf(Math.max(...sizes));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  return new EventTooLargeError(streamName, planned[largest]!.type, total, error.maxAppendSize);
}

function positionOf(position: number): Position {
  return { commit: BigInt(position), prepare: BigInt(position) };
}

function isAfter(position: Position, last: Position): boolean {
  return (
    position.commit > last.commit ||
    (position.commit === last.commit && position.prepare > last.prepare)
  );
}

function toPosition(position: Position | undefined): number {
  if (!position || position.commit >= UNKNOWN_POSITION) return -1;
  return Number(position.commit);
}

function isStoredMetadata(value: unknown): value is StoredMetadata {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  const stored = value as Partial<Record<keyof StoredMetadata, unknown>>;
  return (
    stored.metadata !== null &&
    typeof stored.metadata === 'object' &&
    typeof stored.recordedAt === 'string' &&
    typeof stored.hash === 'string' &&
    (stored.prevHash === null || typeof stored.prevHash === 'string')
  );
}

function toRecordedEvent(event: EsdbEvent): RecordedEvent {
  const stored = event.metadata;
  const data = event.data;
  if (
    !isStoredMetadata(stored) ||
    data === null ||
    typeof data !== 'object' ||
    Array.isArray(data) ||
    data instanceof Uint8Array
  )
    throw new ForeignEventError(event.streamId, Number(event.revision), event.id, event.type);
  return {
    eventId: event.id,
    streamName: event.streamId,
    revision: Number(event.revision),
    position: toPosition(event.position),
    type: event.type,
    data: data as JsonObject,
    metadata: stored.metadata,
    recordedAt: stored.recordedAt,
    prevHash: stored.prevHash,
    hash: stored.hash,
  };
}
