import type { Actor, JsonObject } from '../../event-sourcing';
import type { Projection } from '../../projections/projection';
import type { ParticipantEvent } from '../domain/participant';

/** One entry of a participant's timeline (docs/API.md, "Timeline item"). */
export type TimelineItem = {
  readonly position: number;
  readonly type: string;
  /** When it happened (programme time zone), where the event says. */
  readonly occurredOn?: string;
  /** When the system learned it. */
  readonly recordedAt: string;
  readonly actor: Actor;
  readonly summary: string;
  readonly data: JsonObject;
};

const PREFIX = 'participant-';

/** The key of a timeline item: the participant, then the zero-padded position, so key order is time order. */
export const timelineKey = (participantId: string, position: number) =>
  `${participantId}/${String(position).padStart(16, '0')}`;

/** A personal text when it is readable: sealed or erased values are left out of summaries. */
const text = (value: unknown): string | null =>
  typeof value === 'string' && value.length > 0 ? value : null;
const withText = (base: string, value: unknown): string => {
  const readable = text(value);
  return readable === null ? base : `${base}: ${readable}`;
};

/**
 * What an event says, in a line. Personal texts (titles, reasons) are in it only when they are
 * readable: the read model keeps the line without them (its data is sealed), and an answer
 * describes the item again once its data is opened (`describeItem`).
 */
function describe(event: ParticipantEvent): { summary: string; occurredOn?: string } {
  switch (event.type) {
    case 'ParticipantEnrolled':
      return {
        summary: `Enrolled from ${event.data.startDate} to ${event.data.windowEnd}, sponsored by ${event.data.societyCode}`,
        occurredOn: event.data.startDate,
      };
    case 'ActivityLogged': {
      const { hours, pillar, category, title, occurredOn } = event.data;
      return { summary: withText(`Logged ${hours} h ${pillar} (${category})`, title), occurredOn };
    }
    case 'ActivityVerified':
      return { summary: 'Activity verified' };
    case 'ActivityRejected':
      return { summary: withText('Activity rejected', event.data.reason) };
    case 'ActivityCorrected':
      return {
        summary: withText(
          `Activity corrected to ${event.data.hours} h ${event.data.pillar} (${event.data.category})`,
          event.data.reason,
        ),
      };
    case 'ActivityRetracted':
      return { summary: withText('Activity retracted', event.data.reason) };
    case 'ProgressReviewed':
      return { summary: `Review ${event.data.period}: ${event.data.rating.replace('_', ' ')}` };
    case 'ParticipationCompleted':
      return {
        summary: `Completed with ${event.data.verifiedHours} verified hours`,
        occurredOn: event.data.completedOn,
      };
    case 'ParticipantWithdrawn':
      return {
        summary: withText('Withdrew', event.data.reason),
        occurredOn: event.data.withdrawnOn,
      };
    case 'AdvancementAssociationInvited':
      return {
        summary: `Invited to the Young Scientists Advancement Association (${event.data.basis.replace(/_/g, ' ')})`,
      };
  }
}

/** The item with its summary written from its (opened) data: what answers show. */
export function describeItem(item: TimelineItem): TimelineItem {
  const event = { type: item.type, data: item.data } as unknown as ParticipantEvent;
  return { ...item, summary: describe(event).summary };
}

/** Every event of a participant, in order, one document each (docs/DOMAIN.md, "Timeline"). */
// No index fields: the timeline is only ever read by key prefix, in key order.
export const timelineProjection: Projection<TimelineItem, Record<never, never>> = {
  name: 'timeline',
  // 3: events from before sealing are read upcast (`subjectRef: null`), so documents built from
  // them before differ from a replay now.
  version: 3,
  // One item per event, keyed by its position: nothing to load before writing.
  createsOnly: true,
  keysOf: (event) =>
    event.streamName.startsWith(PREFIX)
      ? [timelineKey(event.streamName.slice(PREFIX.length), event.position)]
      : [],
  evolve: (_doc, recorded) => {
    const { summary, occurredOn } = describe(recorded as unknown as ParticipantEvent);
    return {
      position: recorded.position,
      type: recorded.type,
      ...(occurredOn ? { occurredOn } : {}),
      recordedAt: recorded.recordedAt,
      actor: recorded.metadata.actor,
      summary,
      data: recorded.data,
    };
  },
  indexOf: () => ({}),
};
