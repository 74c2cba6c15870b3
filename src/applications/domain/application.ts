import type {
  DomainEvent,
  EventFieldPolicy,
  EventSchemaPolicy,
  Personal,
} from '../../event-sourcing';
import { assertCalendarDates, localDate, type CalendarDate } from '../../shared/domain/calendar';
import { conflict, ruleViolation } from '../../shared/domain/domain-error';
import { SUBJECT_REF_VERSION, subjectRefAdded } from '../../shared/domain/subject-ref-added';
import type { ProgrammeRules } from '../../programmes/domain/programme';
import { evaluateEligibility, type ApplicantFacts, type Eligibility } from './eligibility';

/** What the applicant fills in (docs/API.md, `POST /v1/programmes/:programmeId/applications`). */
export type ApplicationForm = ApplicantFacts & {
  readonly fullName: string;
  readonly institution: string;
  readonly researchField: string;
};

/** The facts of a submitted application, as recorded: personal fields are sealed once stored. */
export type ApplicationSubmittedData = {
  readonly applicationId: string;
  readonly programmeId: string;
  /**
   * The pseudonym of the student who submitted it (a keyed hash of their `sub`): whose key seals
   * the personal fields, and how "self" is recognised. Null in applications submitted before
   * personal data was sealed (schema version 1): their personal fields are plain, and "self" is
   * `applicantSub`.
   */
  readonly subjectRef: string | null;
  /** The `sub` of the student who submitted it. */
  readonly applicantSub: Personal<string>;
  readonly submittedAt: string;
  readonly submittedOn: CalendarDate;
  readonly fullName: Personal<string>;
  readonly nationality: Personal<string>;
  readonly enrolmentType: string;
  readonly degreeLevel: string;
  readonly institution: Personal<string>;
  readonly expectedGraduationDate: Personal<CalendarDate>;
  readonly researchField: Personal<string>;
  readonly preferredSocietyCode: string;
  readonly eligibility: Eligibility;
};

/** Events of an application stream: the application is immutable once submitted. */
export type ApplicationEvent = DomainEvent<'ApplicationSubmitted', ApplicationSubmittedData>;

/** Commands of an application stream. */
export type ApplicationCommand = {
  readonly type: 'SubmitApplication';
  readonly applicationId: string;
  readonly programme: ProgrammeRules;
  readonly applicantSub: string;
  /** The applicant's pseudonym (see `ApplicationSubmittedData.subjectRef`). */
  readonly subjectRef: string;
  /** The instant the request arrived (ISO 8601), from the clock at the edge. */
  readonly submittedAt: string;
  readonly form: ApplicationForm;
};

/** Which fields of the application's events are the applicant's personal data (docs/privacy.md). */
export const APPLICATION_EVENT_FIELDS: EventFieldPolicy<ApplicationEvent> = {
  ApplicationSubmitted: {
    subject: 'subjectRef',
    personal: [
      'applicantSub',
      'fullName',
      'nationality',
      'institution',
      'expectedGraduationDate',
      'researchField',
      // The reasons quote the nationality and graduation date.
      'eligibility.checks[].detail',
    ],
    plain: [
      'applicationId',
      'programmeId',
      'subjectRef',
      'submittedAt',
      'submittedOn',
      'enrolmentType',
      'degreeLevel',
      'preferredSocietyCode',
      'eligibility.eligible',
      'eligibility.checks[].rule',
      'eligibility.checks[].passed',
    ],
  },
};

/** The schema version of the application's events (docs/design.md, "Schema versions and upcasting"). */
export const APPLICATION_EVENT_SCHEMAS: EventSchemaPolicy<ApplicationEvent> = {
  ApplicationSubmitted: {
    version: SUBJECT_REF_VERSION,
    upcasters: [subjectRefAdded('ApplicationSubmitted')],
  },
};

/** Nothing, or the submitted application. */
export type ApplicationState = ApplicationSubmittedData | null;

/** The stream of one application. */
export const applicationStream = (applicationId: string) => `application-${applicationId}`;

export const applicationDecider = {
  initialState: (): ApplicationState => null,
  evolve: (_state: ApplicationState, event: ApplicationEvent): ApplicationState => {
    switch (event.type) {
      case 'ApplicationSubmitted':
        return event.data;
    }
  },
  decide: (command: ApplicationCommand, state: ApplicationState): ApplicationEvent[] => {
    switch (command.type) {
      case 'SubmitApplication': {
        // A student holds one application per programme (its id is derived from both).
        if (state)
          throw conflict(
            'APPLICATION_EXISTS',
            `You have applied to ${state.programmeId} already, with application ${state.applicationId}; one application per programme.`,
            { applicationId: state.applicationId },
          );
        const { programme, form, submittedAt } = command;
        assertCalendarDates({ expectedGraduationDate: form.expectedGraduationDate });
        const submittedOn = localDate(submittedAt, programme.timeZone);
        // Late or misdirected applications are refused outright (docs/DOMAIN.md: "accepted only
        // before the deadline and only for a participating society"); every other failing
        // rule is recorded with its reason, for staff to see.
        if (submittedOn > programme.applicationDeadline) {
          throw ruleViolation(
            'DEADLINE_PASSED',
            `Applications closed at the end of ${programme.applicationDeadline} (${programme.timeZone}); this one arrived on ${submittedOn}.`,
            { deadline: programme.applicationDeadline, submittedOn },
          );
        }
        if (!programme.societies.some((society) => society.code === form.preferredSocietyCode)) {
          throw ruleViolation(
            'SOCIETY_NOT_PARTICIPATING',
            `Society ${form.preferredSocietyCode} does not sponsor programme ${programme.programmeId}; choose one of ${programme.societies.map((s) => s.code).join(', ')}.`,
          );
        }
        const eligibility = evaluateEligibility(programme, form, submittedAt);
        return [
          {
            type: 'ApplicationSubmitted',
            data: {
              applicationId: command.applicationId,
              programmeId: programme.programmeId,
              subjectRef: command.subjectRef,
              applicantSub: command.applicantSub,
              submittedAt,
              submittedOn,
              ...form,
              eligibility,
            },
          },
        ];
      }
    }
  },
};

/** Where an application stands, from submission through the society's and headquarters' decisions. */
export const APPLICATION_STATUSES = [
  'submitted',
  'declined',
  'recommended',
  'withdrawn',
  'matched',
  'not_selected',
  'enrolled',
] as const;

/** One of `APPLICATION_STATUSES`. */
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];
