/** A JSON value, as stored: events are the storage schema, so they hold plain JSON only. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A JSON object: the shape of every event's `data`. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** Who caused an event: the authenticated subject and the role it acted in. */
export interface Actor {
  /** The subject (`sub` claim) of the token that issued the command. */
  readonly sub: string;
  /** The role the subject acted in, e.g. `society_staff`. */
  readonly role: string;
}

/** Metadata every event carries besides its data. */
export interface EventMetadata {
  /** Who caused the event. */
  readonly actor: Actor;
  /** Ties together every event caused by one request or process. */
  readonly correlationId: string;
  /** The id of the message (command or event) that directly caused this event; null for none. */
  readonly causationId: string | null;
  /**
   * Version of the event's `data` schema (1, 2, …): stamped per event type on append by the
   * upcasting store, and brought to the current one on read (docs/design.md, "Schema versions
   * and upcasting").
   */
  readonly schemaVersion: number;
}

/** An event as a domain decision produces it: a past-tense fact with plain JSON data. */
export interface DomainEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  /** Past-tense name, e.g. `ApplicationSubmitted`. */
  readonly type: Type;
  /** The facts, as plain JSON. */
  readonly data: Data;
}

/** An event ready to append: a domain event plus its metadata and an optional caller-chosen id. */
export interface NewEvent<
  Type extends string = string,
  Data extends JsonObject = JsonObject,
> extends DomainEvent<Type, Data> {
  /** Who, why and which schema. */
  readonly metadata: EventMetadata;
  /** A UUID chosen by the caller to make a retried append idempotent; generated when absent. */
  readonly eventId?: string;
  /**
   * For copying a log only (the `encrypt-log` migration, docs/privacy-migration.md): the time the
   * original store recorded the event, kept instead of the time of this append, so that answers
   * "as known at" a time stay the same. The service never sets it; every event it writes gets
   * the store's clock. ISO 8601 in UTC exactly as `Date.prototype.toISOString` writes it (the
   * hash covers the text, so every adapter must store it unchanged).
   */
  readonly recordedAt?: string;
}

/** An event as the store recorded it: what was appended plus what the store assigned. */
export interface RecordedEvent<
  Type extends string = string,
  Data extends JsonObject = JsonObject,
> extends DomainEvent<Type, Data> {
  /** Unique id of the event (UUID). */
  readonly eventId: string;
  /** Who, why and which schema. */
  readonly metadata: EventMetadata;
  /** The stream the event belongs to. */
  readonly streamName: string;
  /** Zero-based number of the event within its stream. */
  readonly revision: number;
  /** Place of the event in the global log: strictly increasing in `readAll` order. */
  readonly position: number;
  /** When the store recorded the event, ISO 8601 in UTC. */
  readonly recordedAt: string;
  /** `hash` of the previous event in the stream; null for the first. */
  readonly prevHash: string | null;
  /** SHA-256 (hex) over the canonical encoding of this event, including `prevHash`. */
  readonly hash: string;
}
