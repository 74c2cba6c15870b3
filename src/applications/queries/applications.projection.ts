import type { Personal, RecordedEvent } from '../../event-sourcing';
import { type Projection, type Rollup, rollupGroup } from '../../projections/projection';
import type { ApplicationStatus } from '../domain/application';
import type { ApplicationEvent } from '../domain/application';
import type { Eligibility } from '../domain/eligibility';
import type { SelectionEvent } from '../domain/selection';

/** The application read model: what staff review, with the eligibility reasons. */
export type ApplicationDoc = {
  readonly applicationId: string;
  readonly programmeId: string;
  /** The applicant's pseudonym: how "self" is recognised; null when submitted before sealing. */
  readonly subjectRef: string | null;
  // Personal fields stay sealed in the read model: they are opened when an answer is given, and
  // read as null once the applicant is erased (docs/privacy.md).
  readonly applicantSub: Personal<string>;
  readonly fullName: Personal<string>;
  readonly nationality: Personal<string>;
  readonly enrolmentType: string;
  readonly degreeLevel: string;
  readonly institution: Personal<string>;
  readonly expectedGraduationDate: Personal<string>;
  readonly researchField: Personal<string>;
  readonly societyCode: string;
  readonly submittedAt: string;
  readonly eligibility: Eligibility;
  readonly status: ApplicationStatus;
  /** The society's or headquarters' last reason (decline, withdrawal, not selected). */
  readonly reason: Personal<string> | null;
  readonly note: Personal<string> | null;
  readonly mentoringSocietyCode: string | null;
  readonly participantId: string | null;
  readonly position: number;
};

const STATUS: Record<SelectionEvent['type'], ApplicationStatus> = {
  ApplicationDeclined: 'declined',
  CandidateRecommended: 'recommended',
  RecommendationWithdrawn: 'withdrawn',
  CandidateMatched: 'matched',
  CandidateNotSelected: 'not_selected',
};

function evolve(doc: ApplicationDoc | null, recorded: RecordedEvent): ApplicationDoc | null {
  const event = recorded as unknown as
    | ApplicationEvent
    | SelectionEvent
    | { type: 'ParticipantEnrolled'; data: { participantId: string } };
  if (event.type === 'ApplicationSubmitted') {
    const { preferredSocietyCode, submittedOn: _submittedOn, ...data } = event.data;
    return {
      ...data,
      societyCode: preferredSocietyCode,
      status: 'submitted',
      reason: null,
      note: null,
      mentoringSocietyCode: null,
      participantId: null,
      position: recorded.position,
    };
  }
  if (!doc) throw new Error(`${event.type} for an application never submitted`);
  if (event.type === 'ParticipantEnrolled')
    return {
      ...doc,
      status: 'enrolled',
      participantId: event.data.participantId,
      position: recorded.position,
    };
  const data = event.data as {
    reason?: Personal<string>;
    note?: Personal<string> | null;
    mentoringSocietyCode?: string;
  };
  return {
    ...doc,
    status: STATUS[event.type],
    reason: data.reason ?? (event.type === 'CandidateRecommended' ? null : doc.reason),
    note: event.type === 'CandidateRecommended' ? (data.note ?? null) : doc.note,
    mentoringSocietyCode: data.mentoringSocietyCode ?? doc.mentoringSocietyCode,
    position: recorded.position,
  };
}

const KEYED = new Set([
  'ApplicationSubmitted',
  'ApplicationDeclined',
  'CandidateRecommended',
  'RecommendationWithdrawn',
  'CandidateMatched',
  'CandidateNotSelected',
  'ParticipantEnrolled',
]);

/** What application lists and the dashboard filter and count by, without the documents. */
export type ApplicationIndex = {
  readonly programmeId: string;
  readonly societyCode: string;
  readonly status: ApplicationStatus;
  readonly submittedAt: string;
  /** 1 or 0: index fields are strings and numbers. */
  readonly eligible: number;
};

/** One programme's applications to one society, counted: what the dashboard reads. */
export type SocietyApplications = {
  readonly applications: number;
  readonly eligible: number;
  /** Applications by status; a status no application has is absent. */
  readonly statuses: Readonly<Partial<Record<ApplicationStatus, number>>>;
};

type Counts = {
  applications: number;
  eligible: number;
  statuses: Partial<Record<ApplicationStatus, number>>;
};

/** The applications rollup: counts by programme and society (`SocietyApplications`). */
export const societyApplicationsRollup: Rollup<ApplicationIndex, SocietyApplications> = {
  groupOf: (index) => rollupGroup(index.programmeId, index.societyCode),
  add(total, index, sign) {
    const counts = (total ?? { applications: 0, eligible: 0, statuses: {} }) as Counts;
    counts.applications += sign;
    if (counts.applications === 0) return null;
    counts.eligible += sign * index.eligible;
    const next = (counts.statuses[index.status] ?? 0) + sign;
    if (next === 0) delete counts.statuses[index.status];
    else counts.statuses[index.status] = next;
    return counts;
  },
};

/** Applications with their eligibility and status (docs/DOMAIN.md, "Eligibility" per application). */
export const applicationsProjection: Projection<
  ApplicationDoc,
  ApplicationIndex,
  SocietyApplications
> = {
  name: 'applications',
  // 4: events from before sealing are read upcast (`subjectRef: null`), so documents built from
  // them before differ from a replay now. 5: the society rollup (`SocietyApplications`).
  version: 5,
  keysOf: (event) => (KEYED.has(event.type) ? [event.data.applicationId as string] : []),
  evolve,
  indexOf: (doc) => ({
    programmeId: doc.programmeId,
    societyCode: doc.societyCode,
    status: doc.status,
    submittedAt: doc.submittedAt,
    eligible: doc.eligibility.eligible ? 1 : 0,
  }),
  rollup: societyApplicationsRollup,
};
