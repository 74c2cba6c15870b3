import type { DomainEvent, EventMetadata, JsonObject, NewEvent, RecordedEvent } from '../event';

/**
 * The schema version of an event not yet appended: the upcasting store replaces it with the
 * event type's current version. Stored, it would be refused on read (it is no version), so an
 * event that bypassed the stamping cannot pass for any version.
 */
export const UNSTAMPED_SCHEMA_VERSION = 0;

/**
 * One step of an event type's history: turns `data` stored at `fromVersion` into the shape of
 * `fromVersion + 1`. Pure: no I/O, no clock, no keys, so every reader upcasts alike and a log
 * read twice reads the same. The stored event is never rewritten; this runs on every read.
 */
export interface Upcaster<Type extends string = string> {
  /** The event type it applies to. */
  readonly type: Type;
  /** The stored version it reads. */
  readonly fromVersion: number;
  /** Always `fromVersion + 1`: a chain of single steps, each written once and never changed. */
  readonly toVersion: number;
  /** The data in the shape of `toVersion`; `metadata` is the stored event's, for context. */
  upcast(data: JsonObject, metadata: EventMetadata): JsonObject;
}

/**
 * An event type's schema, declared next to the event's type: the version the code writes (and
 * reads), and one upcaster for each older version still in stored logs (1 → 2, 2 → 3, …).
 */
export type EventSchema<Type extends string = string> = {
  /** The version of the shape the code writes and every reader sees. Starts at 1. */
  readonly version: number;
  /** One per older version, `fromVersion` 1 to `version - 1`; none while `version` is 1. */
  readonly upcasters?: readonly Upcaster<Type>[];
};

/** The schema of every event type of a union, keyed by type (the compiler checks all are there). */
export type EventSchemaPolicy<Event extends DomainEvent> = {
  readonly [Type in Event['type']]: EventSchema<Type>;
};

/** An event type's declared history has a gap, a step that skips, or an upcaster it cannot use. */
export class SchemaHistoryError extends Error {
  constructor(
    readonly eventType: string,
    problem: string,
  ) {
    super(`event type ${eventType}: ${problem}`);
    this.name = 'SchemaHistoryError';
  }
}

/**
 * A stored event whose schema version this code cannot bring to the current shape: newer than
 * it knows (written by a later release), or not a version at all.
 */
export class UnknownSchemaVersionError extends Error {
  constructor(
    readonly eventType: string,
    readonly storedVersion: unknown,
    readonly currentVersion: number,
    readonly where: string,
  ) {
    super(
      typeof storedVersion === 'number' && Number.isInteger(storedVersion) && storedVersion > 0
        ? `${where}: ${eventType} is stored at schema version ${storedVersion}, but this release knows versions up to ${currentVersion}; it was written by a later release, so run that release (or later) to read this log`
        : `${where}: ${eventType} has schema version ${JSON.stringify(storedVersion)}, which is not a version (1, 2, …): the event was not written by this service`,
    );
    this.name = 'UnknownSchemaVersionError';
  }
}

/** An event type with no declared schema version: refused rather than written unversioned. */
export class UnversionedEventTypeError extends Error {
  constructor(readonly eventType: string) {
    super(
      `event type ${eventType} has no schema version: declare it (and its upcasters) next to its type, and gather it in the composition root`,
    );
    this.name = 'UnversionedEventTypeError';
  }
}

/**
 * Every event type's current schema version and its upcasters, checked once when it is built
 * (that is, at start-up): each type's chain must run 1 → 2 → … → current without a gap, so a
 * missing upcaster stops the service before it reads anything, not when a reader meets an old
 * event. Reading brings each stored event to its type's current shape; writing stamps that
 * version on each new event.
 */
export class EventSchemaRegistry {
  private readonly versions = new Map<string, number>();
  /** Per type, the upcaster from version `i + 1` at index `i`. */
  private readonly chains = new Map<string, readonly Upcaster[]>();

  /** Throws `SchemaHistoryError` when a declared history is not a whole chain. */
  constructor(schemas: Readonly<Record<string, EventSchema>>) {
    for (const [type, schema] of Object.entries(schemas)) {
      const { version } = schema;
      if (!Number.isInteger(version) || version < 1)
        throw new SchemaHistoryError(type, `version ${version} is not 1, 2, …`);
      const chain: Upcaster[] = [];
      for (const upcaster of schema.upcasters ?? []) {
        if (upcaster.type !== type)
          throw new SchemaHistoryError(type, `an upcaster for ${upcaster.type} is declared here`);
        if (upcaster.toVersion !== upcaster.fromVersion + 1)
          throw new SchemaHistoryError(
            type,
            `the upcaster from version ${upcaster.fromVersion} goes to ${upcaster.toVersion}; each step goes to the next version`,
          );
        if (upcaster.fromVersion < 1 || upcaster.fromVersion >= version)
          throw new SchemaHistoryError(
            type,
            `an upcaster from version ${upcaster.fromVersion} does not fit a history of versions 1 to ${version}`,
          );
        if (chain[upcaster.fromVersion - 1])
          throw new SchemaHistoryError(type, `two upcasters from version ${upcaster.fromVersion}`);
        chain[upcaster.fromVersion - 1] = upcaster;
      }
      for (let from = 1; from < version; from += 1)
        if (!chain[from - 1])
          throw new SchemaHistoryError(
            type,
            `no upcaster from version ${from} to ${from + 1}: events stored at version ${from} could not be read as version ${version}`,
          );
      this.versions.set(type, version);
      this.chains.set(type, chain);
    }
  }

  /** The version the code writes and reads for `type`; `UnversionedEventTypeError` if undeclared. */
  currentVersion(type: string): number {
    const version = this.versions.get(type);
    if (version === undefined) throw new UnversionedEventTypeError(type);
    return version;
  }

  /** Whether `type` is declared. */
  has(type: string): boolean {
    return this.versions.has(type);
  }

  /** The event types declared, in declaration order. */
  types(): string[] {
    return [...this.versions.keys()];
  }

  /**
   * The event in its type's current shape, with that version in its metadata; the same object
   * when it is stored in the current shape already. Events of types the code does not declare
   * are returned as stored (no reader folds them). `UnknownSchemaVersionError` for a version
   * newer than the code knows, or one that is not a version.
   */
  upcast(event: RecordedEvent): RecordedEvent {
    const current = this.versions.get(event.type);
    if (current === undefined) return event;
    const stored: unknown = event.metadata.schemaVersion;
    if (stored === current) return event;
    if (typeof stored !== 'number' || !Number.isInteger(stored) || stored < 1 || stored > current)
      throw new UnknownSchemaVersionError(
        event.type,
        stored,
        current,
        `${event.streamName} revision ${event.revision} (position ${event.position})`,
      );
    const chain = this.chains.get(event.type)!;
    let data = event.data;
    for (let version = stored; version < current; version += 1)
      data = chain[version - 1]!.upcast(data, event.metadata);
    return { ...event, data, metadata: { ...event.metadata, schemaVersion: current } };
  }

  /** The event with its type's current version in its metadata (what the code writes is current). */
  stamp(event: NewEvent): NewEvent {
    const version = this.currentVersion(event.type);
    if (event.metadata.schemaVersion === version) return event;
    return { ...event, metadata: { ...event.metadata, schemaVersion: version } };
  }
}
