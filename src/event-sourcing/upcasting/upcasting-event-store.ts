import type { NewEvent, RecordedEvent } from '../event';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  EventSubscription,
  ReadStreamOptions,
  StoreIntegrity,
} from '../event-store';
import type { EventSchemaRegistry } from './schema';

/**
 * The log exactly as stored: each event in the shape and schema version it was written in, the
 * form its hash covers. Only what checks hashes reads it (chain verification, digests,
 * `export --sealed`); everything else reads the current shape through `UpcastingEventStore`.
 * `form` marks it: an `EventStore` has no such member, so passing one where the stored form is
 * needed does not compile, nor the other way round (this has no `append`).
 */
export interface StoredEventLog {
  /** Says that reads return the stored form. */
  readonly form: 'stored';
  /** What the store keeps to find removed events (see `StoreIntegrity`), where it keeps it. */
  readonly integrity?: StoreIntegrity;
  /** Reads one stream as stored; `StreamNotFoundError` when it has no events. */
  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Reads up to `maxCount` events after `afterPosition`, as stored. */
  readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]>;
  /** The position of the latest event (0 when empty). */
  headPosition(): Promise<number>;
}

/**
 * The stored form of a bare adapter (or of a store that only changes writes, like the sealing
 * store). Refuses an `UpcastingEventStore`, whose reads are not what was hashed: take its
 * `stored` instead.
 */
export function storedLog(adapter: EventStore): StoredEventLog {
  if (adapter instanceof UpcastingEventStore)
    throw new TypeError(
      'an UpcastingEventStore reads events in their current shape, not as stored: use its `stored` log',
    );
  return {
    form: 'stored',
    get integrity() {
      return adapter.integrity;
    },
    readStream: (streamName, options) => adapter.readStream(streamName, options),
    readAll: (afterPosition, maxCount) => adapter.readAll(afterPosition, maxCount),
    headPosition: () => adapter.headPosition(),
  };
}

/**
 * The event store every reader and writer of the service uses: it reads each event in its
 * type's current shape (old versions through their upcasters, the stored event untouched) and
 * stamps each new event with its type's current schema version. Projections, rebuilds, as-of
 * answers, deciders, replay and export all read through it, so none of them meets an old shape;
 * what checks hashes reads `stored`, the inner store's stored form.
 */
export class UpcastingEventStore implements EventStore {
  /** The same log as stored, for hash verification only. */
  readonly stored: StoredEventLog;

  constructor(
    private readonly inner: EventStore,
    private readonly schemas: EventSchemaRegistry,
  ) {
    this.stored = storedLog(inner);
  }

  get integrity(): StoreIntegrity | undefined {
    return this.inner.integrity;
  }

  append(
    streamName: string,
    events: readonly NewEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    // Refuses an undeclared type before anything reaches the store.
    const stamped = events.map((event) => this.schemas.stamp(event));
    return this.inner.append(streamName, stamped, options);
  }

  async readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return (await this.inner.readStream(streamName, options)).map((event) =>
      this.schemas.upcast(event),
    );
  }

  async readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    return (await this.inner.readAll(afterPosition, maxCount)).map((event) =>
      this.schemas.upcast(event),
    );
  }

  headPosition(): Promise<number> {
    return this.inner.headPosition();
  }

  subscribeToAll(afterPosition: number): EventSubscription {
    const inner = this.inner.subscribeToAll(afterPosition);
    const schemas = this.schemas;
    return {
      close: () => inner.close(),
      [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
        const iterator = inner[Symbol.asyncIterator]();
        return {
          async next() {
            const result = await iterator.next();
            return result.done ? result : { done: false, value: schemas.upcast(result.value) };
          },
          async return(value?: unknown) {
            return iterator.return
              ? await iterator.return(value)
              : { done: true as const, value: undefined };
          },
        };
      },
    };
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
