import type {
  DomainEvent,
  EventFieldPolicy,
  EventSchemaPolicy,
  Personal,
} from '../../event-sourcing';
import { assertCalendarDates, daysSpanned, type CalendarDate } from '../../shared/domain/calendar';
import { conflict, invalid, notFound, ruleViolation } from '../../shared/domain/domain-error';
import { SUBJECT_REF_VERSION, subjectRefAdded } from '../../shared/domain/subject-ref-added';
import {
  PILLAR_CATEGORIES,
  windowEnd,
  type Pillar,
  type ProgrammeRules,
} from '../../programmes/domain/programme';
import type { ApplicationSubmittedData } from '../../applications/domain/application';
import type { CandidateStatus } from '../../applications/domain/selection';
import { readPace, type Pace } from './pace';

/** The stream of one participant. */
export const participantStream = (participantId: string) => `participant-${participantId}`;

/** Review ratings, best first. */
export const RATINGS = [
  'exceptional',
  'satisfactory',
  'needs_improvement',
  'unsatisfactory',
] as const;
/** A review rating. */
export type Rating = (typeof RATINGS)[number];

type Ref = { readonly participantId: string };
/**
 * The participant's pseudonym, on every event with personal data: whose key seals it. Null for a
 * participant enrolled before personal data was sealed (schema version 1, upcast): that data is
 * plain, and new personal data about them is refused until the log is migrated.
 */
type Subject = { readonly subjectRef: string | null };
type ActivityRef = Ref & { readonly activityId: string };

/** Events of a participant stream. */
export type ParticipantEvent =
  | DomainEvent<
      'ParticipantEnrolled',
      Ref &
        Subject & {
          readonly applicationId: string;
          readonly programmeId: string;
          /**
           * The student's `sub`: only in enrolments from before personal data was sealed (whose
           * `subjectRef` is null); since then `subjectRef` identifies them.
           */
          readonly participantSub?: Personal<string>;
          readonly fullName: Personal<string>;
          /** The sponsoring society, whose staff oversee the participant. */
          readonly societyCode: string;
          readonly mentoringSocietyCode: string;
          readonly startDate: CalendarDate;
          /** First day after the window: start + durationMonths. */
          readonly windowEnd: CalendarDate;
          readonly requiredHours: number;
          readonly timeZone: string;
        }
    >
  | DomainEvent<
      'ActivityLogged',
      ActivityRef &
        Subject & {
          readonly pillar: Pillar;
          readonly category: string;
          readonly title: Personal<string>;
          readonly occurredOn: CalendarDate;
          readonly endedOn: CalendarDate | null;
          readonly hours: number;
          readonly evidence: Personal<string> | null;
        }
    >
  | DomainEvent<'ActivityVerified', ActivityRef>
  | DomainEvent<'ActivityRejected', ActivityRef & Subject & { readonly reason: Personal<string> }>
  | DomainEvent<
      'ActivityCorrected',
      ActivityRef &
        Subject & {
          readonly reason: Personal<string>;
          readonly hours: number;
          readonly pillar: Pillar;
          readonly category: string;
        }
    >
  | DomainEvent<'ActivityRetracted', ActivityRef & Subject & { readonly reason: Personal<string> }>
  | DomainEvent<
      'ProgressReviewed',
      Ref &
        Subject & {
          readonly period: string;
          readonly rating: Rating;
          readonly note: Personal<string> | null;
        }
    >
  | DomainEvent<
      'ParticipationCompleted',
      Ref & { readonly verifiedHours: number; readonly completedOn: CalendarDate }
    >
  | DomainEvent<
      'ParticipantWithdrawn',
      Ref & Subject & { readonly reason: Personal<string>; readonly withdrawnOn: CalendarDate }
    >
  | DomainEvent<
      'AdvancementAssociationInvited',
      Ref & { readonly basis: 'completed' | 'exceptional_on_track' }
    >;

const ACTIVITY = ['participantId', 'activityId', 'subjectRef'] as const;

/** Which fields of a participant's events are their personal data (docs/privacy.md). */
export const PARTICIPANT_EVENT_FIELDS: EventFieldPolicy<ParticipantEvent> = {
  ParticipantEnrolled: {
    subject: 'subjectRef',
    personal: ['participantSub', 'fullName'],
    plain: [
      'participantId',
      'subjectRef',
      'applicationId',
      'programmeId',
      'societyCode',
      'mentoringSocietyCode',
      'startDate',
      'windowEnd',
      'requiredHours',
      'timeZone',
    ],
  },
  ActivityLogged: {
    subject: 'subjectRef',
    personal: ['title', 'evidence'],
    plain: [...ACTIVITY, 'pillar', 'category', 'occurredOn', 'endedOn', 'hours'],
  },
  ActivityVerified: { plain: ['participantId', 'activityId'] },
  ActivityRejected: { subject: 'subjectRef', personal: ['reason'], plain: ACTIVITY },
  ActivityCorrected: {
    subject: 'subjectRef',
    personal: ['reason'],
    plain: [...ACTIVITY, 'hours', 'pillar', 'category'],
  },
  ActivityRetracted: { subject: 'subjectRef', personal: ['reason'], plain: ACTIVITY },
  ProgressReviewed: {
    subject: 'subjectRef',
    personal: ['note'],
    plain: ['participantId', 'subjectRef', 'period', 'rating'],
  },
  ParticipationCompleted: { plain: ['participantId', 'verifiedHours', 'completedOn'] },
  ParticipantWithdrawn: {
    subject: 'subjectRef',
    personal: ['reason'],
    plain: ['participantId', 'subjectRef', 'withdrawnOn'],
  },
  AdvancementAssociationInvited: { plain: ['participantId', 'basis'] },
};

const withSubjectRef = <Type extends ParticipantEvent['type']>(type: Type) => ({
  version: SUBJECT_REF_VERSION,
  upcasters: [subjectRefAdded(type)],
});

/**
 * The schema version of a participant's events (docs/design.md, "Schema versions and
 * upcasting"): those with personal data gained `subjectRef` in version 2 (and new enrolments
 * stopped carrying `participantSub`; old ones keep it); the others are unchanged.
 */
export const PARTICIPANT_EVENT_SCHEMAS: EventSchemaPolicy<ParticipantEvent> = {
  ParticipantEnrolled: withSubjectRef('ParticipantEnrolled'),
  ActivityLogged: withSubjectRef('ActivityLogged'),
  ActivityVerified: { version: 1 },
  ActivityRejected: withSubjectRef('ActivityRejected'),
  ActivityCorrected: withSubjectRef('ActivityCorrected'),
  ActivityRetracted: withSubjectRef('ActivityRetracted'),
  ProgressReviewed: withSubjectRef('ProgressReviewed'),
  ParticipationCompleted: { version: 1 },
  ParticipantWithdrawn: withSubjectRef('ParticipantWithdrawn'),
  AdvancementAssociationInvited: { version: 1 },
};

/** An activity's standing: only verified hours count toward the requirement. */
export type ActivityStatus = 'pending' | 'verified' | 'rejected' | 'retracted';

/** One logged activity as it stands now. */
export type Activity = {
  readonly pillar: Pillar;
  readonly category: string;
  readonly hours: number;
  readonly occurredOn: CalendarDate;
  readonly endedOn: CalendarDate | null;
  readonly status: ActivityStatus;
};

/** A participant as decisions need it. */
export type Participant = {
  readonly participantId: string;
  /**
   * The student's pseudonym: how "self" is recognised, and whose key seals their data. Null when
   * enrolled before personal data was sealed.
   */
  readonly subjectRef: string | null;
  /** The student's `sub`, only in participants enrolled before personal data was sealed. */
  readonly participantSub?: Personal<string>;
  readonly societyCode: string;
  readonly windowStart: CalendarDate;
  readonly windowEnd: CalendarDate;
  readonly requiredHours: number;
  /** The programme's zone, in which "today" is read for this participant. */
  readonly timeZone: string;
  readonly status: 'active' | 'completed' | 'withdrawn';
  readonly withdrawnOn: CalendarDate | null;
  readonly invited: boolean;
  readonly activities: ReadonlyMap<string, Activity>;
  readonly reviews: ReadonlyMap<string, Rating>;
};

/** Not enrolled yet, or the participant. */
export type ParticipantState = Participant | null;

/** Commands of a participant stream. Dates and ids come from the edge. */
export type ParticipantCommand =
  | {
      readonly type: 'EnrolParticipant';
      readonly participantId: string;
      readonly application: ApplicationSubmittedData;
      readonly selection: {
        readonly status: CandidateStatus | undefined;
        readonly mentoringSocietyCode: string | null;
      };
      readonly programme: ProgrammeRules;
      readonly startDate: CalendarDate;
    }
  | {
      readonly type: 'LogActivity';
      readonly activityId: string;
      readonly pillar: Pillar;
      readonly category: string;
      readonly title: string;
      readonly occurredOn: CalendarDate;
      readonly endedOn: CalendarDate | null;
      readonly hours: number;
      readonly evidence: string | null;
      /** Today in the programme's time zone. */
      readonly today: CalendarDate;
    }
  | { readonly type: 'VerifyActivity'; readonly activityId: string }
  | { readonly type: 'RejectActivity'; readonly activityId: string; readonly reason: string }
  | {
      readonly type: 'CorrectActivity';
      readonly activityId: string;
      readonly reason: string;
      readonly hours?: number;
      readonly pillar?: Pillar;
      readonly category?: string;
    }
  | { readonly type: 'RetractActivity'; readonly activityId: string; readonly reason: string }
  | {
      readonly type: 'ReviewProgress';
      readonly period: string;
      readonly rating: Rating;
      readonly note: string | null;
    }
  | { readonly type: 'CompleteParticipation'; readonly today: CalendarDate }
  | { readonly type: 'WithdrawParticipant'; readonly reason: string; readonly today: CalendarDate }
  | { readonly type: 'InviteToAdvancementAssociation'; readonly today: CalendarDate };

/** Verified hours, in total and per pillar; retracted, rejected and pending hours do not count. */
export function verifiedHours(participant: Participant): number {
  let total = 0;
  for (const activity of participant.activities.values())
    if (activity.status === 'verified') total += activity.hours;
  return total;
}

/** Whether completion may be recorded now, and if not, why (eligibility read model). */
export function completionCheck(participant: Participant): {
  possible: boolean;
  detail: string;
  shortfallHours: number;
} {
  const verified = verifiedHours(participant);
  const shortfallHours = Math.max(0, round2(participant.requiredHours - verified));
  if (participant.status !== 'active')
    return { possible: false, detail: `participant is ${participant.status}`, shortfallHours };
  if (shortfallHours > 0) {
    return {
      possible: false,
      detail: `${verified} of ${participant.requiredHours} hours verified; ${shortfallHours} short`,
      shortfallHours,
    };
  }
  return {
    possible: true,
    detail: `${verified} of ${participant.requiredHours} hours verified`,
    shortfallHours,
  };
}

/** Whether an Advancement Association invitation may be issued today, and why (or why not). */
export function invitationCheck(
  participant: Participant,
  today: CalendarDate,
): {
  possible: boolean;
  basis: 'completed' | 'exceptional_on_track' | null;
  detail: string;
  pace: Pace;
} {
  const { pace } = readPace({ ...participant, verifiedHours: verifiedHours(participant) }, today);
  if (participant.invited) return { possible: false, basis: null, detail: 'already invited', pace };
  if (participant.status === 'withdrawn')
    return { possible: false, basis: null, detail: 'participant withdrew', pace };
  if (participant.status === 'completed')
    return { possible: true, basis: 'completed', detail: 'participation completed', pace };
  const exceptional = [...participant.reviews.values()].includes('exceptional');
  const onTrack = pace === 'on_track' || pace === 'ahead';
  if (onTrack && exceptional) {
    return {
      possible: true,
      basis: 'exceptional_on_track',
      detail: `pace ${pace} with an exceptional review`,
      pace,
    };
  }
  return {
    possible: false,
    basis: null,
    detail: `needs completion, or pace on_track or ahead (now ${pace}) with an exceptional review (${exceptional ? 'has one' : 'none yet'})`,
    pace,
  };
}

/** The events that change one activity. */
export type ActivityEvent = Extract<
  ParticipantEvent,
  {
    type:
      | 'ActivityLogged'
      | 'ActivityVerified'
      | 'ActivityRejected'
      | 'ActivityCorrected'
      | 'ActivityRetracted';
  }
>;

/**
 * What an activity event makes of the activity (undefined: not logged yet). The one place an
 * activity's transitions are written: the decider folds with it, and so does the progress
 * read model (and therefore every as-of answer).
 */
export function activityAfter(
  activity: Activity | undefined,
  event: ActivityEvent,
): Activity | undefined {
  switch (event.type) {
    case 'ActivityLogged': {
      const { pillar, category, hours, occurredOn, endedOn } = event.data;
      return { pillar, category, hours, occurredOn, endedOn, status: 'pending' };
    }
    case 'ActivityVerified':
      return activity && { ...activity, status: 'verified' };
    case 'ActivityRejected':
      return activity && { ...activity, status: 'rejected' };
    case 'ActivityCorrected': {
      // A correction makes a verified activity pending again.
      const { hours, pillar, category } = event.data;
      return activity && { ...activity, hours, pillar, category, status: 'pending' };
    }
    case 'ActivityRetracted':
      return activity && { ...activity, status: 'retracted' };
  }
}

function evolve(state: ParticipantState, event: ParticipantEvent): ParticipantState {
  if (event.type === 'ParticipantEnrolled') {
    const data = event.data;
    return {
      participantId: data.participantId,
      subjectRef: data.subjectRef,
      ...(data.participantSub !== undefined ? { participantSub: data.participantSub } : {}),
      societyCode: data.societyCode,
      windowStart: data.startDate,
      windowEnd: data.windowEnd,
      requiredHours: data.requiredHours,
      timeZone: data.timeZone,
      status: 'active',
      withdrawnOn: null,
      invited: false,
      activities: new Map(),
      reviews: new Map(),
    };
  }
  if (!state) return state;
  switch (event.type) {
    case 'ActivityLogged':
    case 'ActivityVerified':
    case 'ActivityRejected':
    case 'ActivityCorrected':
    case 'ActivityRetracted': {
      const activityId = event.data.activityId;
      const activity = activityAfter(state.activities.get(activityId), event);
      if (!activity) return state;
      return { ...state, activities: new Map(state.activities).set(activityId, activity) };
    }
    case 'ProgressReviewed':
      return {
        ...state,
        reviews: new Map(state.reviews).set(event.data.period, event.data.rating),
      };
    case 'ParticipationCompleted':
      return { ...state, status: 'completed' };
    case 'ParticipantWithdrawn':
      return { ...state, status: 'withdrawn', withdrawnOn: event.data.withdrawnOn };
    case 'AdvancementAssociationInvited':
      return { ...state, invited: true };
  }
}

function decide(command: ParticipantCommand, state: ParticipantState): ParticipantEvent[] {
  if (command.type === 'EnrolParticipant') return enrol(command, state);
  if (!state) throw notFound('PARTICIPANT_NOT_FOUND', 'No such participant.');
  const participantId = state.participantId;
  switch (command.type) {
    case 'LogActivity': {
      if (state.status !== 'active') {
        throw ruleViolation(
          state.status === 'withdrawn' ? 'PARTICIPANT_WITHDRAWN' : 'PARTICIPATION_COMPLETED',
          `The participant is ${state.status}${state.withdrawnOn ? ` since ${state.withdrawnOn}` : ''}; activities can no longer be logged.`,
        );
      }
      if (state.activities.has(command.activityId))
        throw conflict('DUPLICATE_ACTIVITY', `Activity ${command.activityId} exists already.`);
      assertCategory(command.pillar, command.category);
      assertCalendarDates({ occurredOn: command.occurredOn, endedOn: command.endedOn });
      const lastDay = command.endedOn ?? command.occurredOn;
      if (lastDay < command.occurredOn)
        throw ruleViolation('INVALID_DATE_RANGE', 'endedOn must not fall before occurredOn.');
      assertHours(command.hours, command.occurredOn, command.endedOn);
      if (command.occurredOn < state.windowStart || lastDay >= state.windowEnd) {
        throw ruleViolation(
          'OUTSIDE_WINDOW',
          `Activities must fall within the participant's window, ${state.windowStart} up to (not including) ${state.windowEnd}.`,
          { windowStart: state.windowStart, windowEnd: state.windowEnd },
        );
      }
      if (lastDay > command.today) {
        throw ruleViolation(
          'IN_FUTURE',
          `An activity can be logged once it has happened; ${lastDay} is after today (${command.today}).`,
        );
      }
      const { activityId, pillar, category, title, occurredOn, endedOn, hours, evidence } = command;
      return [
        {
          type: 'ActivityLogged',
          data: {
            participantId,
            activityId,
            subjectRef: state.subjectRef,
            pillar,
            category,
            title,
            occurredOn,
            endedOn,
            hours,
            evidence,
          },
        },
      ];
    }
    case 'VerifyActivity':
    case 'RejectActivity': {
      const activity = requireActivity(state, command.activityId);
      if (activity.status !== 'pending') {
        throw conflict(
          'ACTIVITY_NOT_PENDING',
          `Activity ${command.activityId} is ${activity.status}; only pending activities are verified or rejected.`,
          {
            status: activity.status,
          },
        );
      }
      return command.type === 'VerifyActivity'
        ? [{ type: 'ActivityVerified', data: { participantId, activityId: command.activityId } }]
        : [
            {
              type: 'ActivityRejected',
              data: {
                participantId,
                activityId: command.activityId,
                subjectRef: state.subjectRef,
                reason: command.reason,
              },
            },
          ];
    }
    case 'CorrectActivity': {
      const activity = requireActivity(state, command.activityId);
      if (activity.status === 'retracted')
        throw conflict('ACTIVITY_RETRACTED', `Activity ${command.activityId} was retracted.`);
      if (
        command.hours === undefined &&
        command.pillar === undefined &&
        command.category === undefined
      ) {
        throw invalid('NOTHING_TO_CORRECT', 'Give at least one of hours, pillar, category.');
      }
      const pillar = command.pillar ?? activity.pillar;
      const category = command.category ?? activity.category;
      const hours = command.hours ?? activity.hours;
      assertCategory(pillar, category);
      assertHours(hours, activity.occurredOn, activity.endedOn);
      return [
        {
          type: 'ActivityCorrected',
          data: {
            participantId,
            activityId: command.activityId,
            subjectRef: state.subjectRef,
            reason: command.reason,
            hours,
            pillar,
            category,
          },
        },
      ];
    }
    case 'RetractActivity': {
      const activity = requireActivity(state, command.activityId);
      if (activity.status === 'retracted')
        throw conflict(
          'ACTIVITY_RETRACTED',
          `Activity ${command.activityId} was already retracted.`,
        );
      return [
        {
          type: 'ActivityRetracted',
          data: {
            participantId,
            activityId: command.activityId,
            subjectRef: state.subjectRef,
            reason: command.reason,
          },
        },
      ];
    }
    case 'ReviewProgress':
      if (state.reviews.has(command.period)) {
        throw conflict('REVIEW_EXISTS', `Period ${command.period} has been reviewed already.`, {
          period: command.period,
        });
      }
      return [
        {
          type: 'ProgressReviewed',
          data: {
            participantId,
            subjectRef: state.subjectRef,
            period: command.period,
            rating: command.rating,
            note: command.note,
          },
        },
      ];
    case 'CompleteParticipation': {
      assertActive(state);
      const check = completionCheck(state);
      if (!check.possible) {
        throw ruleViolation(
          'HOURS_NOT_MET',
          `Completion needs ${state.requiredHours} verified hours; ${check.detail}.`,
          {
            shortfallHours: check.shortfallHours,
            requiredHours: state.requiredHours,
          },
        );
      }
      return [
        {
          type: 'ParticipationCompleted',
          data: { participantId, verifiedHours: verifiedHours(state), completedOn: command.today },
        },
      ];
    }
    case 'WithdrawParticipant':
      assertActive(state);
      return [
        {
          type: 'ParticipantWithdrawn',
          data: {
            participantId,
            subjectRef: state.subjectRef,
            reason: command.reason,
            withdrawnOn: command.today,
          },
        },
      ];
    case 'InviteToAdvancementAssociation': {
      if (state.invited)
        throw conflict('ALREADY_INVITED', 'The participant has been invited already.');
      const check = invitationCheck(state, command.today);
      if (!check.basis)
        throw ruleViolation('NOT_EXCEPTIONAL', `An invitation ${check.detail}.`, {
          pace: check.pace,
        });
      return [
        { type: 'AdvancementAssociationInvited', data: { participantId, basis: check.basis } },
      ];
    }
  }
}

function enrol(
  command: Extract<ParticipantCommand, { type: 'EnrolParticipant' }>,
  state: ParticipantState,
): ParticipantEvent[] {
  const { application, programme, selection, startDate } = command;
  assertCalendarDates({ startDate });
  if (state)
    throw conflict(
      'ALREADY_ENROLLED',
      `Application ${application.applicationId} is enrolled already as participant ${state.participantId}.`,
    );
  if (selection.status !== 'matched' || !selection.mentoringSocietyCode) {
    throw conflict(
      'WRONG_STAGE',
      `Application ${application.applicationId} must be matched before enrolment; it is ${selection.status ?? 'not recommended'}.`,
    );
  }
  if (startDate < programme.startDate) {
    throw ruleViolation(
      'START_BEFORE_PROGRAMME',
      `Participation cannot start before the programme does (${programme.startDate}).`,
    );
  }
  return [
    {
      type: 'ParticipantEnrolled',
      data: {
        participantId: command.participantId,
        applicationId: application.applicationId,
        programmeId: programme.programmeId,
        subjectRef: application.subjectRef,
        fullName: application.fullName,
        societyCode: application.preferredSocietyCode,
        mentoringSocietyCode: selection.mentoringSocietyCode,
        startDate,
        windowEnd: windowEnd(programme, startDate),
        requiredHours: programme.requiredHours,
        timeZone: programme.timeZone,
      },
    },
  ];
}

function requireActivity(state: Participant, activityId: string): Activity {
  const activity = state.activities.get(activityId);
  if (!activity)
    throw notFound('ACTIVITY_NOT_FOUND', `No activity ${activityId} for this participant.`);
  return activity;
}

function assertActive(state: Participant): void {
  if (state.status === 'completed')
    throw conflict('ALREADY_COMPLETED', 'Participation is completed already.');
  if (state.status === 'withdrawn')
    throw conflict('ALREADY_WITHDRAWN', `The participant withdrew on ${state.withdrawnOn}.`);
}

function assertCategory(pillar: Pillar, category: string): void {
  const categories: readonly string[] = PILLAR_CATEGORIES[pillar];
  if (!categories.includes(category)) {
    throw ruleViolation(
      'CATEGORY_NOT_IN_PILLAR',
      `Category ${category} is not part of the ${pillar} pillar; use one of ${categories.join(', ')}.`,
    );
  }
}

function assertHours(hours: number, occurredOn: CalendarDate, endedOn: CalendarDate | null): void {
  const days = daysSpanned(occurredOn, endedOn ?? occurredOn);
  if (!(hours > 0) || hours > 24 * days) {
    throw ruleViolation(
      'HOURS_OUT_OF_RANGE',
      `Hours must be more than 0 and at most 24 per calendar day spanned (${24 * days} for ${days} day${days === 1 ? '' : 's'}).`,
      {
        maxHours: 24 * days,
      },
    );
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export const participantDecider = { initialState: (): ParticipantState => null, evolve, decide };
