import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError as EsdbStreamNotFoundError,
  WrongExpectedVersionError,
  eventTypeFilter,
  jsonEvent,
  type AllStreamSubscription,
  type Position,
  type ReadPosition,
} from '@eventstore/db-client';
import {
  type AppendOptions,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type EventSubscription,
  type JsonObject,
  type NewEvent,
  type ReadStreamOptions,
  type RecordedEvent,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  assertValidStreamName,
  planAppend,
  prepareAppend,
} from '../../event-sourcing';

/** Options for `EventStoreDbEventStore`. */
export interface EventStoreDbOptions {
  /** e.g. `esdb://localhost:2113?tls=false`. */
  readonly connectionString: string;
  /**
   * Which event types are ours in `$all`; default: names starting with an upper-case letter
   * (our past-tense PascalCase types), which leaves out EventStoreDB's `$`-prefixed system events.
   */
  readonly eventTypeRegex?: string;
  /** How many times an append re-reads the stream head after losing a race; default 5. */
  readonly maxAppendAttempts?: number;
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

// EventStoreDB reports this commit position for events read from a stream (not from $all).
const UNKNOWN_POSITION = 2n ** 63n - 1n;
const MAX_BACKOFF_MS = 5000;

/**
 * EventStoreDB adapter, for deployments that outgrow one machine.
 *
 * Positions are EventStoreDB commit positions (log offsets: increasing, not contiguous). They
 * are known only for events read from `$all` or a subscription; events read from a single
 * stream carry position -1, because the server's stream index does not keep them.
 * The hash chain needs the previous event's hash, so every append reads the stream's head and
 * appends with that exact revision; when another writer gets in between, it re-reads and
 * re-plans, so the caller's own expected revision is still honoured exactly. A retried append
 * is recognised when its events are the stream's latest (EventStoreDB's own idempotency
 * window is similar).
 *
 * `recordedAt` is ours, kept in each event's metadata beside its hashes, so an event copied with
 * its original `recordedAt` (the encrypt-log migration) keeps it here as in the SQL stores; the
 * server's own `created` stamp cannot be set and shows the time of the copy.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly client: EventStoreDBClient;
  private readonly subscriptions = new Set<EventSubscription>();

  constructor(private readonly options: EventStoreDbOptions) {
    this.client = EventStoreDBClient.connectionString(options.connectionString);
  }

  async append(
    streamName: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const prepared = prepareAppend(streamName, events, options.expectedRevision);
    const attempts = this.options.maxAppendAttempts ?? 5;
    for (let attempt = 1; ; attempt += 1) {
      const tail = await this.readTail(streamName, prepared.events.length);
      const head = tail[0];
      const plan = planAppend(prepared, {
        recordedAt: new Date().toISOString(),
        head: () => head && { revision: head.revision, hash: head.hash },
        findEvent: (eventId) => tail.find((event) => event.eventId === eventId),
      });
      if (plan.kind === 'already-appended') return plan.result;
      try {
        const result = await this.client.appendToStream(
          streamName,
          plan.events.map((event) => {
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
          }),
          { expectedRevision: head ? BigInt(head.revision) : NO_STREAM },
        );
        return {
          nextRevision: Number(result.nextExpectedRevision),
          position: toPosition(result.position),
        };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (attempt >= attempts) {
          const actual =
            error.actualVersion === NO_STREAM ? 'no_stream' : Number(error.actualVersion);
          throw new WrongExpectedRevisionError(streamName, prepared.expectedRevision, actual);
        }
        // Another writer moved the head: re-read, and let planAppend judge the caller's expectation.
      }
    }
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertValidStreamName(streamName);
    const backwards = options.direction === 'backwards';
    const events: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamName, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision:
          options.fromRevision === undefined
            ? backwards
              ? 'end'
              : START
            : BigInt(options.fromRevision),
        ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
      });
      for await (const resolved of read) {
        if (resolved.event) events.push(toRecordedEvent(resolved.event));
      }
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
    const ours = new RegExp(this.options.eventTypeRegex ?? '^[A-Z]');
    const events: RecordedEvent[] = [];
    let from: ReadPosition =
      afterPosition <= 0
        ? START
        : { commit: BigInt(afterPosition), prepare: BigInt(afterPosition) };
    // $all also holds system events; keep reading pages until we have maxCount of ours or the end.
    for (;;) {
      let seen = 0;
      let last: Position | undefined;
      for await (const resolved of this.client.readAll({
        fromPosition: from,
        maxCount: maxCount + 1,
        direction: FORWARDS,
      })) {
        seen += 1;
        const event = resolved.event;
        if (!event?.position) continue;
        last = event.position;
        if (
          Number(event.position.commit) <= afterPosition ||
          !ours.test(event.type) ||
          event.streamId.startsWith('$')
        )
          continue;
        events.push(toRecordedEvent(event));
        if (events.length === maxCount) return events;
      }
      if (seen <= maxCount || !last) return events;
      from = last;
      afterPosition = Math.max(afterPosition, Number(last.commit) - 1);
    }
  }

  async headPosition(): Promise<number> {
    const ours = new RegExp(this.options.eventTypeRegex ?? '^[A-Z]');
    // The newest of our events in $all (system events are skipped).
    for await (const resolved of this.client.readAll({
      fromPosition: END,
      direction: BACKWARDS,
      maxCount: 500,
    })) {
      const event = resolved.event;
      if (event?.position && ours.test(event.type) && !event.streamId.startsWith('$'))
        return toPosition(event.position);
    }
    return 0;
  }

  subscribeToAll(afterPosition: number): EventSubscription {
    const subscription = new EsdbSubscription(
      this.client,
      afterPosition,
      this.options.eventTypeRegex ?? '^[A-Z]',
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async ping(): Promise<void> {
    for await (const _ of this.client.readAll({ maxCount: 1 })) break;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  private async readTail(streamName: string, count: number): Promise<RecordedEvent[]> {
    try {
      const events: RecordedEvent[] = [];
      for await (const resolved of this.client.readStream(streamName, {
        direction: BACKWARDS,
        fromRevision: 'end',
        maxCount: count,
      })) {
        if (resolved.event) events.push(toRecordedEvent(resolved.event));
      }
      return events;
    } catch (error) {
      if (error instanceof EsdbStreamNotFoundError) return [];
      throw error;
    }
  }
}

/**
 * A catch-up subscription to `$all`, filtered server-side to our event types, that survives a
 * dropped connection: it resubscribes from the last delivered position with exponential backoff
 * (100 ms doubling to 5 s) and drops anything at or before that position, so nothing repeats.
 */
class EsdbSubscription implements EventSubscription {
  private closed = false;
  private current: AllStreamSubscription | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly afterPosition: number,
    private readonly eventTypeRegex: string,
    private readonly onClose: () => void,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    let last: Position | undefined =
      this.afterPosition <= 0
        ? undefined
        : { commit: BigInt(this.afterPosition), prepare: BigInt(this.afterPosition) };
    let failures = 0;
    while (!this.closed) {
      const subscription = this.client.subscribeToAll({
        fromPosition: last ?? START,
        filter: eventTypeFilter({ regex: this.eventTypeRegex }),
      });
      this.current = subscription;
      try {
        for await (const resolved of subscription) {
          failures = 0;
          const event = resolved.event;
          if (!event?.position || (last && !isAfter(event.position, last))) continue;
          last = event.position;
          yield toRecordedEvent(event);
          if (this.closed) return;
        }
      } catch {
        // The connection dropped: fall through to resubscribe.
      }
      if (this.closed) return;
      failures += 1;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(MAX_BACKOFF_MS, 100 * 2 ** (failures - 1)));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.onClose();
    await this.current?.unsubscribe();
  }
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

function toRecordedEvent(event: EsdbEvent): RecordedEvent {
  const stored = event.metadata as StoredMetadata;
  return {
    eventId: event.id,
    streamName: event.streamId,
    revision: Number(event.revision),
    position: toPosition(event.position),
    type: event.type,
    data: event.data as JsonObject,
    metadata: stored.metadata,
    recordedAt: stored.recordedAt,
    prevHash: stored.prevHash,
    hash: stored.hash,
  };
}
