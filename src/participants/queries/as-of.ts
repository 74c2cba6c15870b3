import type { RecordedEvent } from '../../event-sourcing';
import { foldProjection } from '../../projections/projection';
import { localDate } from '../../shared/domain/calendar';
import type { ParticipantEvent } from '../domain/participant';
import { progressProjection, type ProgressDoc } from './progress.projection';
import { timelineProjection, type TimelineItem } from './timeline.projection';

/**
 * The two times an auditor can ask about (docs/DOMAIN.md, "Time"):
 * - `asOf` (a date, valid time): only what had happened by the end of that day;
 * - `knownAt` (an instant, transaction time): only what the system had recorded by then.
 * Together: "what did the system show at `knownAt` about the state on `asOf`".
 */
export type AsOf = { readonly asOf?: string; readonly knownAt?: string };

/**
 * The day an event counts as having happened, in the programme's time zone:
 * - its own date where it has one (enrolment start, activity date, completion, withdrawal);
 * - for what is said about an activity (verified, rejected, corrected, retracted), the date of
 *   the activity itself: a correction or retraction amends that fact, so an answer about a day
 *   after the activity reflects it — unless `knownAt` is before it was recorded;
 * - otherwise (reviews, invitations) the day it was recorded.
 */
export function happenedOn(
  event: ParticipantEvent,
  recordedAt: string,
  activityDates: ReadonlyMap<string, string>,
  timeZone: string,
): string {
  switch (event.type) {
    case 'ParticipantEnrolled':
      return event.data.startDate;
    case 'ActivityLogged':
      return event.data.occurredOn;
    case 'ActivityVerified':
    case 'ActivityRejected':
    case 'ActivityCorrected':
    case 'ActivityRetracted':
      return activityDates.get(event.data.activityId) ?? localDate(recordedAt, timeZone);
    case 'ParticipationCompleted':
      return event.data.completedOn;
    case 'ParticipantWithdrawn':
      return event.data.withdrawnOn;
    case 'ProgressReviewed':
    case 'AdvancementAssociationInvited':
      return localDate(recordedAt, timeZone);
  }
}

/** The events of a participant's stream an answer `at` may see, in stream order. */
export function eventsAsOf(events: readonly RecordedEvent[], at: AsOf): RecordedEvent[] {
  const knownAt = at.knownAt === undefined ? undefined : Date.parse(at.knownAt);
  const known =
    knownAt === undefined
      ? [...events]
      : events.filter((event) => Date.parse(event.recordedAt) <= knownAt);
  if (at.asOf === undefined) return known;
  const enrolled = known.find((event) => event.type === 'ParticipantEnrolled');
  const timeZone =
    (enrolled as unknown as Extract<ParticipantEvent, { type: 'ParticipantEnrolled' }> | undefined)
      ?.data.timeZone ?? 'UTC';
  const activityDates = new Map<string, string>();
  for (const event of known) {
    const typed = event as unknown as ParticipantEvent;
    if (typed.type === 'ActivityLogged')
      activityDates.set(typed.data.activityId, typed.data.occurredOn);
  }
  return known.filter(
    (event) =>
      happenedOn(event as unknown as ParticipantEvent, event.recordedAt, activityDates, timeZone) <=
      at.asOf!,
  );
}

/** A participant's progress document folded from its events as of `at`: the live projection's own code. */
export function progressAsOf(
  participantId: string,
  events: readonly RecordedEvent[],
  at: AsOf,
): ProgressDoc | undefined {
  return foldProjection(progressProjection, eventsAsOf(events, at)).get(participantId);
}

/** A participant's timeline as of `at`, in order: the live projection's own code. */
export function timelineAsOf(events: readonly RecordedEvent[], at: AsOf): TimelineItem[] {
  const items = foldProjection(timelineProjection, eventsAsOf(events, at));
  return [...items.keys()].sort().map((key) => items.get(key)!);
}

/** The day pace is read for: `asOf`, else the day of `knownAt`, else today. */
export function dayOfAnswer(at: AsOf, timeZone: string, now: Date): string {
  if (at.asOf !== undefined) return at.asOf;
  return localDate(at.knownAt ?? now, timeZone);
}
