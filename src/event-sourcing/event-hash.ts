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

/**
 * SHA-256 (hex) over the RFC 8785 canonical JSON of the event including `prevHash`, so each
 * event commits to the whole history of its stream before it. The global position is left out
 * on purpose: EventStoreDB only assigns it after the write, and per-stream chains need no
 * global order to be checked.
 */
export function computeEventHash(fields: HashedEventFields): string {
  const canonical = canonicalize({
    streamName: fields.streamName,
    revision: fields.revision,
    eventId: fields.eventId,
    type: fields.type,
    data: fields.data,
    metadata: fields.metadata,
    recordedAt: fields.recordedAt,
    prevHash: fields.prevHash,
  });
  if (canonical === undefined) throw new Error('event fields cannot be canonicalised');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}
