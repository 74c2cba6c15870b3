import type {
  DomainEvent,
  EventFieldPolicy,
  EventSchemaPolicy,
  Personal,
} from '../../event-sourcing';
import { conflict, ruleViolation } from '../../shared/domain/domain-error';
import { SUBJECT_REF_VERSION, subjectRefAdded } from '../../shared/domain/subject-ref-added';
import type { ProgrammeRules } from '../../programmes/domain/programme';
import type { ApplicationSubmittedData } from './application';

/**
 * A society's selection within one programme: which of the applications that chose it were
 * declined, recommended (and perhaps withdrawn), then matched or not selected by headquarters.
 * All of it is one stream, because the recommendation quota spans the society's candidates
 * and each decision depends on the ones before it.
 */
export const selectionStream = (programmeId: string, societyCode: string) =>
  `selection-${programmeId}-${societyCode}`;

type Ref = {
  readonly applicationId: string;
  readonly programmeId: string;
  readonly societyCode: string;
  /**
   * The applicant's pseudonym: whose key seals the reasons and notes. Null for an application
   * submitted before personal data was sealed (see `ApplicationSubmittedData.subjectRef`).
   */
  readonly subjectRef: string | null;
};

/** Events of a selection stream. */
export type SelectionEvent =
  | DomainEvent<'ApplicationDeclined', Ref & { readonly reason: Personal<string> }>
  | DomainEvent<'CandidateRecommended', Ref & { readonly note: Personal<string> | null }>
  | DomainEvent<'RecommendationWithdrawn', Ref & { readonly reason: Personal<string> }>
  | DomainEvent<'CandidateMatched', Ref & { readonly mentoringSocietyCode: string }>
  | DomainEvent<'CandidateNotSelected', Ref & { readonly reason: Personal<string> }>;

const REF = ['applicationId', 'programmeId', 'societyCode', 'subjectRef'] as const;

/** Reasons and notes about an applicant are their personal data (docs/privacy.md). */
export const SELECTION_EVENT_FIELDS: EventFieldPolicy<SelectionEvent> = {
  ApplicationDeclined: { subject: 'subjectRef', personal: ['reason'], plain: REF },
  CandidateRecommended: { subject: 'subjectRef', personal: ['note'], plain: REF },
  RecommendationWithdrawn: { subject: 'subjectRef', personal: ['reason'], plain: REF },
  CandidateMatched: { plain: [...REF, 'mentoringSocietyCode'] },
  CandidateNotSelected: { subject: 'subjectRef', personal: ['reason'], plain: REF },
};

const withSubjectRef = <Type extends SelectionEvent['type']>(type: Type) => ({
  version: SUBJECT_REF_VERSION,
  upcasters: [subjectRefAdded(type)],
});

/**
 * The schema version of the selection's events (docs/design.md, "Schema versions and
 * upcasting"): all of them gained `subjectRef` in version 2.
 */
export const SELECTION_EVENT_SCHEMAS: EventSchemaPolicy<SelectionEvent> = {
  ApplicationDeclined: withSubjectRef('ApplicationDeclined'),
  CandidateRecommended: withSubjectRef('CandidateRecommended'),
  RecommendationWithdrawn: withSubjectRef('RecommendationWithdrawn'),
  CandidateMatched: withSubjectRef('CandidateMatched'),
  CandidateNotSelected: withSubjectRef('CandidateNotSelected'),
};

/** Where an application stands with its society. */
export type CandidateStatus = 'declined' | 'recommended' | 'withdrawn' | 'matched' | 'not_selected';

/** Each decided application's status; undecided ones are absent. */
export type SelectionState = ReadonlyMap<string, CandidateStatus>;

/** Commands of a selection stream; the application and programme are read at the edge. */
export type SelectionCommand =
  | {
      readonly type: 'DeclineApplication';
      readonly application: ApplicationSubmittedData;
      readonly reason: string;
    }
  | {
      readonly type: 'RecommendCandidate';
      readonly application: ApplicationSubmittedData;
      readonly programme: ProgrammeRules;
      readonly note: string | null;
    }
  | {
      readonly type: 'WithdrawRecommendation';
      readonly application: ApplicationSubmittedData;
      readonly reason: string;
    }
  | {
      readonly type: 'MatchCandidate';
      readonly application: ApplicationSubmittedData;
      readonly programme: ProgrammeRules;
      readonly mentoringSocietyCode: string;
    }
  | {
      readonly type: 'MarkNotSelected';
      readonly application: ApplicationSubmittedData;
      readonly reason: string;
    };

/** Recommendations that hold a quota slot: recommended, matched or not selected, but not withdrawn. */
export function liveRecommendations(state: SelectionState): number {
  let live = 0;
  for (const status of state.values())
    if (status === 'recommended' || status === 'matched' || status === 'not_selected') live += 1;
  return live;
}

const STATUS_BY_EVENT: Record<SelectionEvent['type'], CandidateStatus> = {
  ApplicationDeclined: 'declined',
  CandidateRecommended: 'recommended',
  RecommendationWithdrawn: 'withdrawn',
  CandidateMatched: 'matched',
  CandidateNotSelected: 'not_selected',
};

export const selectionDecider = {
  initialState: (): SelectionState => new Map(),
  evolve: (state: SelectionState, event: SelectionEvent): SelectionState =>
    new Map(state).set(event.data.applicationId, STATUS_BY_EVENT[event.type]),
  decide: (command: SelectionCommand, state: SelectionState): SelectionEvent[] => {
    const { application } = command;
    const ref: Ref = {
      applicationId: application.applicationId,
      programmeId: application.programmeId,
      societyCode: application.preferredSocietyCode,
      subjectRef: application.subjectRef,
    };
    const status = state.get(application.applicationId);
    switch (command.type) {
      case 'DeclineApplication':
        if (status !== undefined && status !== 'withdrawn')
          throw alreadyDecided(application.applicationId, status);
        return [{ type: 'ApplicationDeclined', data: { ...ref, reason: command.reason } }];

      case 'RecommendCandidate': {
        if (status !== undefined && status !== 'withdrawn')
          throw alreadyDecided(application.applicationId, status);
        if (!application.eligibility.eligible) {
          const failed = application.eligibility.checks
            .filter((check) => !check.passed)
            .map((check) => check.rule);
          throw ruleViolation(
            'NOT_ELIGIBLE',
            `Application ${application.applicationId} is not eligible (${failed.join(', ')}), so it cannot be recommended.`,
            { failedRules: failed.join(',') },
          );
        }
        const quota = command.programme.recommendationQuota;
        if (liveRecommendations(state) >= quota) {
          throw conflict(
            'QUOTA_REACHED',
            `Society ${ref.societyCode} already has ${quota} live recommendations for ${ref.programmeId}; withdraw one to recommend another.`,
            { quota },
          );
        }
        return [{ type: 'CandidateRecommended', data: { ...ref, note: command.note } }];
      }

      case 'WithdrawRecommendation':
        if (status !== 'recommended')
          throw notInState(application.applicationId, status, 'recommended (and not yet matched)');
        return [{ type: 'RecommendationWithdrawn', data: { ...ref, reason: command.reason } }];

      case 'MatchCandidate':
        if (status !== 'recommended')
          throw notInState(application.applicationId, status, 'recommended');
        if (
          !command.programme.societies.some(
            (society) => society.code === command.mentoringSocietyCode,
          )
        ) {
          throw ruleViolation(
            'SOCIETY_NOT_PARTICIPATING',
            `Mentoring society ${command.mentoringSocietyCode} does not take part in ${ref.programmeId}.`,
          );
        }
        return [
          {
            type: 'CandidateMatched',
            data: { ...ref, mentoringSocietyCode: command.mentoringSocietyCode },
          },
        ];

      case 'MarkNotSelected':
        if (status !== 'recommended')
          throw notInState(application.applicationId, status, 'recommended');
        return [{ type: 'CandidateNotSelected', data: { ...ref, reason: command.reason } }];
    }
  },
};

function alreadyDecided(applicationId: string, status: CandidateStatus) {
  return conflict(
    'ALREADY_DECIDED',
    `Application ${applicationId} is already ${status.replace('_', ' ')}.`,
    { currentStatus: status },
  );
}

function notInState(applicationId: string, status: CandidateStatus | undefined, wanted: string) {
  return conflict(
    'WRONG_STAGE',
    `Application ${applicationId} must be ${wanted}; it is ${status?.replace('_', ' ') ?? 'undecided'}.`,
    {
      currentStatus: status ?? 'submitted',
    },
  );
}
