import type { Personal, RecordedEvent } from '../../event-sourcing';
import { type Projection, type Rollup, rollupGroup } from '../../projections/projection';
import { societyFilter } from '../../auth/access';
import type { ReadModels } from '../../projections/read-models';
import { localDate } from '../../shared/domain/calendar';
import { viewOf, type ProgressSummary, type ProgressView } from '../domain/progress-summary';
import type { Pillar } from '../../programmes/domain/programme';
import {
  activityAfter,
  type Activity,
  type ParticipantEvent,
  type Rating,
} from '../domain/participant';

/** One activity as the progress read model keeps it: as the decider does. */
export type ProgressActivity = Activity;

/**
 * The progress read model of one participant: the stored figures. Totals and pace are derived
 * when read (see `progress.view.ts`), because pace depends on today's date.
 */
export type ProgressDoc = {
  readonly participantId: string;
  readonly applicationId: string;
  readonly programmeId: string;
  readonly societyCode: string;
  readonly mentoringSocietyCode: string;
  /** The student's pseudonym: how "self" is recognised; null when enrolled before sealing. */
  readonly subjectRef: string | null;
  /** The student's `sub`, only for participants enrolled before personal data was sealed. */
  readonly participantSub?: Personal<string>;
  /** Sealed: opened when an answer is given. */
  readonly fullName: Personal<string>;
  readonly timeZone: string;
  readonly status: 'active' | 'completed' | 'withdrawn';
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly requiredHours: number;
  readonly activities: Readonly<Record<string, ProgressActivity>>;
  readonly reviews: Readonly<Record<string, Rating>>;
  readonly invited: boolean;
  /** Global position of the last event applied to this participant. */
  readonly position: number;
  /** Revision of the participant stream: the ETag of its commands. */
  readonly revision: number;
};

const round2 = (value: number) => Math.round(value * 100) / 100;

/** Totals of a participant's activities: only verified hours count; pending ones are shown apart. */
export function summarise(doc: ProgressDoc): ProgressSummary {
  const verified: Record<Pillar, number> = { political: 0, professional: 0, social: 0 };
  let pending = 0;
  let lastActivityOn: string | null = null;
  for (const activity of Object.values(doc.activities)) {
    if (activity.status === 'verified') verified[activity.pillar] += activity.hours;
    else if (activity.status === 'pending') pending += activity.hours;
    if (activity.status === 'verified' || activity.status === 'pending') {
      const last = activity.endedOn ?? activity.occurredOn;
      if (lastActivityOn === null || last > lastActivityOn) lastActivityOn = last;
    }
  }
  return {
    participantId: doc.participantId,
    programmeId: doc.programmeId,
    societyCode: doc.societyCode,
    fullName: JSON.stringify(doc.fullName),
    timeZone: doc.timeZone,
    status: doc.status,
    windowStart: doc.windowStart,
    windowEnd: doc.windowEnd,
    requiredHours: doc.requiredHours,
    verifiedPolitical: round2(verified.political),
    verifiedProfessional: round2(verified.professional),
    verifiedSocial: round2(verified.social),
    pendingHours: round2(pending),
    lastActivityOn,
    position: doc.position,
  };
}

const PARTICIPANT_EVENTS = new Set([
  'ParticipantEnrolled',
  'ActivityLogged',
  'ActivityVerified',
  'ActivityRejected',
  'ActivityCorrected',
  'ActivityRetracted',
  'ProgressReviewed',
  'ParticipationCompleted',
  'ParticipantWithdrawn',
  'AdvancementAssociationInvited',
]);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The document after `recorded`. `owned`: the caller owns `doc` (see `Projection.evolveOwned`),
 * so an activity or a review is set in place rather than copying every other one; everything
 * that can throw comes first.
 */
function evolve(
  doc: ProgressDoc | null,
  recorded: RecordedEvent,
  owned = false,
): ProgressDoc | null {
  const event = recorded as unknown as ParticipantEvent & RecordedEvent;
  const stamp = { position: recorded.position, revision: recorded.revision };
  if (event.type === 'ParticipantEnrolled') {
    const data = event.data;
    return {
      participantId: data.participantId,
      applicationId: data.applicationId,
      programmeId: data.programmeId,
      societyCode: data.societyCode,
      mentoringSocietyCode: data.mentoringSocietyCode,
      subjectRef: data.subjectRef,
      ...(data.participantSub !== undefined ? { participantSub: data.participantSub } : {}),
      fullName: data.fullName,
      timeZone: data.timeZone,
      status: 'active',
      windowStart: data.startDate,
      windowEnd: data.windowEnd,
      requiredHours: data.requiredHours,
      activities: {},
      reviews: {},
      invited: false,
      ...stamp,
    };
  }
  if (!doc) throw new Error(`${event.type} before ParticipantEnrolled in ${recorded.streamName}`);
  switch (event.type) {
    case 'ActivityLogged':
    case 'ActivityVerified':
    case 'ActivityRejected':
    case 'ActivityCorrected':
    case 'ActivityRetracted': {
      // The decider's own transitions (domain/participant.ts).
      const activityId = event.data.activityId;
      const activity = activityAfter(doc.activities[activityId], event);
      if (!activity)
        throw new Error(`activity ${activityId} is not known to participant ${doc.participantId}`);
      if (owned) {
        const mutable = doc as Mutable<ProgressDoc>;
        (mutable.activities as Record<string, ProgressActivity>)[activityId] = activity;
        mutable.position = stamp.position;
        mutable.revision = stamp.revision;
        return doc;
      }
      return { ...doc, activities: { ...doc.activities, [activityId]: activity }, ...stamp };
    }
    case 'ProgressReviewed':
      if (owned) {
        const mutable = doc as Mutable<ProgressDoc>;
        (mutable.reviews as Record<string, Rating>)[event.data.period] = event.data.rating;
        mutable.position = stamp.position;
        mutable.revision = stamp.revision;
        return doc;
      }
      return {
        ...doc,
        reviews: { ...doc.reviews, [event.data.period]: event.data.rating },
        ...stamp,
      };
    case 'ParticipationCompleted':
      return { ...doc, status: 'completed', ...stamp };
    case 'ParticipantWithdrawn':
      return { ...doc, status: 'withdrawn', ...stamp };
    case 'AdvancementAssociationInvited':
      return { ...doc, invited: true, ...stamp };
  }
}

/**
 * One programme's participants of one society, summed: what the dashboard reads instead of every
 * participant. Hours are kept in hundredths (the figures are rounded to hundredths), so that sums
 * kept event by event and sums rebuilt at once are the same integers.
 */
export type SocietyProgress = {
  readonly participants: number;
  readonly verifiedCentihours: Readonly<Record<Pillar, number>>;
  /**
   * Pace depends on today, so it is computed when read from what it depends on: how many
   * participants share each `paceFactsKey` (status, time zone, window, required hours), and
   * within it each verified total (in hundredths). Each distinct set is read once, however many
   * participants share it.
   */
  readonly paceFacts: Readonly<Record<string, Readonly<Record<string, number>>>>;
};

/** What a participant's pace depends on, but for the hours: `[status, timeZone, windowStart, windowEnd, requiredHours]`. */
export type PaceFactsKey = readonly [ProgressSummary['status'], string, string, string, number];

/** The verified total of a summary, in hundredths: the total that `viewOf` shows, times 100. */
export function verifiedCentihours(summary: ProgressSummary): number {
  return Math.round(
    round2(summary.verifiedPolitical + summary.verifiedProfessional + summary.verifiedSocial) * 100,
  );
}

const centihours = (hours: number) => Math.round(hours * 100);

/** Adds `count` to `map[key]`, removing the entry once it is 0. */
function bump(map: Record<string, number>, key: string, count: number): void {
  const next = (map[key] ?? 0) + count;
  if (next === 0) delete map[key];
  else map[key] = next;
}

/** The progress rollup: participants by programme and society (`SocietyProgress`). */
export const societyProgressRollup: Rollup<ProgressSummary, SocietyProgress> = {
  groupOf: (summary) => rollupGroup(summary.programmeId, summary.societyCode),
  add(total, summary, sign) {
    const sum = (total ?? {
      participants: 0,
      verifiedCentihours: { political: 0, professional: 0, social: 0 },
      paceFacts: {},
    }) as Mutable<SocietyProgress> & {
      verifiedCentihours: Record<Pillar, number>;
      paceFacts: Record<string, Record<string, number>>;
    };
    sum.participants += sign;
    if (sum.participants === 0) return null;
    sum.verifiedCentihours.political += sign * centihours(summary.verifiedPolitical);
    sum.verifiedCentihours.professional += sign * centihours(summary.verifiedProfessional);
    sum.verifiedCentihours.social += sign * centihours(summary.verifiedSocial);
    const factsKey = JSON.stringify([
      summary.status,
      summary.timeZone,
      summary.windowStart,
      summary.windowEnd,
      summary.requiredHours,
    ] satisfies PaceFactsKey);
    const hours = (sum.paceFacts[factsKey] ??= {});
    bump(hours, String(verifiedCentihours(summary)), sign);
    if (Object.keys(hours).length === 0) delete sum.paceFacts[factsKey];
    return sum;
  },
};

/** Progress per participant (docs/DOMAIN.md, "Read models"). */
export const progressProjection: Projection<ProgressDoc, ProgressSummary, SocietyProgress> = {
  name: 'progress',
  // 4: events from before sealing are read upcast (`subjectRef: null`), so documents built from
  // them before differ from a replay now. 5: the society rollup (`SocietyProgress`).
  version: 5,
  keysOf: (event) =>
    PARTICIPANT_EVENTS.has(event.type) && event.streamName.startsWith('participant-')
      ? [event.streamName.slice('participant-'.length)]
      : [],
  evolve: (doc, event) => evolve(doc, event),
  evolveOwned: (doc, event) => evolve(doc, event, true),
  // The summary doubles as the index: lists and dashboards filter on it and read only it.
  indexOf: (doc) => summarise(doc),
  rollup: societyProgressRollup,
};

/**
 * The progress of a programme's participants (one society's, or all) for today in each one's
 * time zone, from the index rows the read model keeps: no whole documents are loaded.
 */
export async function progressViews(
  readModels: ReadModels,
  programmeId: string,
  society: string | undefined,
  now: Date,
): Promise<Array<{ summary: ProgressSummary; view: ProgressView }>> {
  const summaries = await readModels.indexes(progressProjection, {
    programmeId,
    ...societyFilter(society),
  });
  // Today is the same for every participant of one time zone (usually all of them).
  const todays = new Map<string, string>();
  const todayIn = (timeZone: string) => {
    let today = todays.get(timeZone);
    if (today === undefined) {
      today = localDate(now, timeZone);
      todays.set(timeZone, today);
    }
    return today;
  };
  return summaries.map((summary) => ({
    summary,
    view: viewOf(summary, todayIn(summary.timeZone)),
  }));
}
