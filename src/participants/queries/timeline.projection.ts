import type { Actor, JsonObject, RecordedEvent } from '../../event-sourcing';
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

/**
 * A timeline item from its event: what answers show. `position` is the event's place in the
 * global log as the read model recorded it (EventStoreDB reports no position on stream reads).
 * Throws for an event it cannot describe (the projections make those dead letters).
 */
export function timelineItemOf(
  recorded: RecordedEvent,
  position: number = recorded.position,
): TimelineItem {
  const { summary, occurredOn } = describe(recorded as unknown as ParticipantEvent);
  return {
    position,
    type: recorded.type,
    ...(occurredOn ? { occurredOn } : {}),
    recordedAt: recorded.recordedAt,
    actor: recorded.metadata.actor,
    summary,
    data: recorded.data,
  };
}

/**
 * Every event of a participant, in order, one item each (docs/DOMAIN.md, "Timeline"), folded in
 * memory: what as-of answers fold from a participant's stream. The read model the service keeps
 * is `timelineReadModel`, which holds where each item's event is, not the item.
 */
// No index fields: the timeline is only ever read by key prefix, in key order.
export const timelineProjection: Projection<TimelineItem, Record<never, never>> = {
  name: 'timeline',
  // Not kept in a store (see `timelineReadModel`); 3 is the version its items were kept at.
  version: 3,
  // One item per event, keyed by its position: nothing to load before writing.
  createsOnly: true,
  keysOf: (event) =>
    event.streamName.startsWith(PREFIX)
      ? [timelineKey(event.streamName.slice(PREFIX.length), event.position)]
      : [],
  evolve: (_doc, recorded) => timelineItemOf(recorded),
  indexOf: () => ({}),
};

/** Where an item's event is: its position in the log and its revision in the participant's stream. */
export type TimelineRef = readonly [position: number, revision: number];

/** One document of the timeline read model: the items of a stretch of a participant's stream. */
export type TimelineRefs = { readonly refs: readonly TimelineRef[] };

/**
 * How many stream revisions one document of the timeline read model covers. A participant's
 * items share a few documents instead of having one each: a rebuild writes about one row per
 * participant instead of one per event, and a live commit rewrites at most this many references.
 */
export const TIMELINE_REVISIONS_PER_DOCUMENT = 64;

/** The key of the timeline document holding `revision` of a participant's stream; key order is stream order. */
export const timelineRefsKey = (participantId: string, revision: number) =>
  `${participantId}/${String(Math.floor(revision / TIMELINE_REVISIONS_PER_DOCUMENT)).padStart(10, '0')}`;

/**
 * The timeline read model (docs/DOMAIN.md, "Timeline"): for every event of a participant that
 * the timeline shows, where it is in the log (position) and in the participant's stream
 * (revision), in order. It keeps no copy of the events: a page is read from the log
 * (`timelinePage`), through the same upcasting store the projections read, and each item is
 * made by `timelineItemOf` as the in-memory fold makes it. Copying every event's data into a
 * row of its own made rebuilds several times slower than reading the log (issue #13).
 */
export const timelineReadModel: Projection<TimelineRefs, Record<never, never>> = {
  name: 'timeline',
  // 4: references to the log in place of copies of the events.
  version: 4,
  keysOf: (event) =>
    event.streamName.startsWith(PREFIX)
      ? [timelineRefsKey(event.streamName.slice(PREFIX.length), event.revision)]
      : [],
  evolve: (doc, recorded) => {
    // An event the timeline cannot make an item of stays a dead letter (the same error) as when
    // items were copied; `timelinePage` then never meets it.
    timelineItemOf(recorded);
    return { refs: [...(doc?.refs ?? []), [recorded.position, recorded.revision]] };
  },
  indexOf: () => ({}),
};
