import type { RecordedEvent } from '../../event-sourcing';
import { foldProjection } from '../../projections/projection';
import { applicationsProjection, type ApplicationDoc } from './applications.projection';

const A = '0199aaaa-0000-7000-8000-000000000001';
let position = 0;
const recorded = (type: string, data: Record<string, unknown>): RecordedEvent =>
  ({
    type,
    data,
    position: ++position,
    streamName: 's',
    revision: 0,
    eventId: 'e',
    recordedAt: 'r',
    prevHash: null,
    hash: 'h',
    metadata: {},
  }) as unknown as RecordedEvent;
const ref = { applicationId: A, programmeId: 'cast-dtdp-2025', societyCode: 'B33' };
const submitted = () =>
  recorded('ApplicationSubmitted', {
    applicationId: A,
    programmeId: 'cast-dtdp-2025',
    applicantSub: 'student-1',
    submittedAt: '2025-11-10T02:00:00.000Z',
    submittedOn: '2025-11-10',
    fullName: 'Li Wei',
    nationality: 'CN',
    enrolmentType: 'full_time',
    degreeLevel: 'doctoral',
    institution: 'IPE',
    expectedGraduationDate: '2028-07-01',
    researchField: 'separation chemistry',
    preferredSocietyCode: 'B33',
    eligibility: { eligible: true, checks: [] },
  });
const given = (...events: RecordedEvent[]): ApplicationDoc =>
  foldProjection(applicationsProjection, events).get(A)!;

describe('applications projection', () => {
  beforeEach(() => {
    position = 0;
  });

  it('given a submission, then the application is submitted with its eligibility and society', () => {
    expect(given(submitted())).toMatchObject({
      status: 'submitted',
      societyCode: 'B33',
      eligibility: { eligible: true },
      reason: null,
      position: 1,
    });
  });

  it('given recommendation, withdrawal with a reason, recommendation again, match and enrolment, then each step shows', () => {
    const doc = given(
      submitted(),
      recorded('CandidateRecommended', { ...ref, note: 'strong' }),
      recorded('RecommendationWithdrawn', { ...ref, reason: 'moved abroad' }),
      recorded('CandidateRecommended', { ...ref, note: null }),
      recorded('CandidateMatched', { ...ref, mentoringSocietyCode: 'A01' }),
      recorded('ParticipantEnrolled', { applicationId: A, participantId: 'p-1' }),
    );
    expect(doc).toMatchObject({
      status: 'enrolled',
      reason: null,
      note: null,
      mentoringSocietyCode: 'A01',
      participantId: 'p-1',
      position: 6,
    });
  });

  it('given a decline, then the reason is kept; its index says ineligible applications apart', () => {
    const doc = given(
      submitted(),
      recorded('ApplicationDeclined', { ...ref, reason: 'out of scope' }),
    );
    expect(doc).toMatchObject({ status: 'declined', reason: 'out of scope' });
    expect(applicationsProjection.indexOf(doc)).toMatchObject({
      societyCode: 'B33',
      status: 'declined',
      eligible: 1,
    });
  });
});
