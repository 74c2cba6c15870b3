import type { PlannedEvent } from '../../event-sourcing';

/** The stored columns of an event, in the order every SQL adapter writes and reads them. */
export const EVENT_COLUMNS =
  'position, event_id, stream_name, revision, type, data, metadata, recorded_at, prev_hash, hash';

/** One event as a row of `EVENT_COLUMNS` values. */
export type EventRowValues = [
  position: number,
  eventId: string,
  streamName: string,
  revision: number,
  type: string,
  data: string,
  metadata: string,
  recordedAt: string,
  prevHash: string | null,
  hash: string,
];

/** The values to insert for a planned event at `position`. */
export function eventRowValues(event: PlannedEvent, position: number): EventRowValues {
  return [
    position,
    event.eventId,
    event.streamName,
    event.revision,
    event.type,
    event.dataJson,
    event.metadataJson,
    event.recordedAt,
    event.prevHash,
    event.hash,
  ];
}
