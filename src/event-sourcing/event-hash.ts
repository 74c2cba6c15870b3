import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { EventMetadata, JsonObject } from './event';

/** The fields of an event that its hash covers: everything but the global position. */
export interface HashedEventFields {
  readonly streamName: string;
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: EventMetadata;
  readonly recordedAt: string;
  readonly prevHash: string | null;
}

/** The same fields with `data` and `metadata` already in canonical JSON. */
export type CanonicalEventFields = Omit<HashedEventFields, 'data' | 'metadata'> & {
  readonly dataJson: string;
  readonly metadataJson: string;
};

/**
 * RFC 8785 (JCS) canonical JSON: object keys sorted, numbers and strings as ECMAScript
 * serialises them. Throws on values JSON cannot hold faithfully (NaN, lone surrogates, ...).
 */
export function canonicalJson(value: unknown): string {
  const json = canonicalize(value);
  if (json === undefined) throw new TypeError('value has no JSON representation');
  return json;
}

/**
 * SHA-256 (hex) over the canonical JSON of the event including `prevHash`, so each event
 * commits to the whole history of its stream before it. The global position is left out on
 * purpose: EventStoreDB assigns it only after the write, and per-stream chains need no global
 * order to be checked.
 *
 * The envelope is written out by hand with its keys in JCS order, so the (possibly large)
 * data is canonicalised once, when the event is prepared, not again for every hash.
 */
export function hashCanonicalEvent(fields: CanonicalEventFields): string {
  const envelope =
    `{"data":${fields.dataJson}` +
    `,"eventId":${JSON.stringify(fields.eventId)}` +
    `,"metadata":${fields.metadataJson}` +
    `,"prevHash":${JSON.stringify(fields.prevHash)}` +
    `,"recordedAt":${JSON.stringify(fields.recordedAt)}` +
    `,"revision":${JSON.stringify(fields.revision)}` +
    `,"streamName":${JSON.stringify(fields.streamName)}` +
    `,"type":${JSON.stringify(fields.type)}}`;
  return createHash('sha256').update(envelope, 'utf8').digest('hex');
}

/** The hash of an event given its parsed data, e.g. as read back from a store. */
export function computeEventHash(fields: HashedEventFields): string {
  return hashCanonicalEvent({
    ...fields,
    dataJson: canonicalJson(fields.data),
    metadataJson: canonicalJson(fields.metadata),
  });
}
