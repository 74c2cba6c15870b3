import { deciderSpec } from '../../../test/support/decider-spec';
import { DTDP_2025 } from '../../programmes/domain/programme';
import { applicationDecider, type ApplicationSubmittedData } from './application';
import { eligibleForm } from '../../../test/support/programme-fixtures';
import { selectionDecider, type SelectionEvent } from './selection';

const spec = deciderSpec(selectionDecider);

function application(
  applicationId: string,
  change: Partial<typeof eligibleForm> = {},
): ApplicationSubmittedData {
  const [event] = applicationDecider.decide(
    {
      type: 'SubmitApplication',
      applicationId,
      programme: DTDP_2025,
      applicantSub: `student-${applicationId}`,
      subjectRef: `ref-student-${applicationId}`,
      submittedAt: '2025-11-10T09:00:00+08:00',
      form: { ...eligibleForm, ...change },
    },
    null,
  );
  return event!.data;
}

const ref = (applicationId: string) => ({
  applicationId,
  programmeId: 'cast-dtdp-2025',
  societyCode: 'B33',
  subjectRef: `ref-student-${applicationId}`,
});
const recommended = (applicationId: string): SelectionEvent => ({
  type: 'CandidateRecommended',
  data: { ...ref(applicationId), note: null },
});
const recommend = (applicationId: string, change = {}) =>
  ({
    type: 'RecommendCandidate',
    application: application(applicationId, change),
    programme: DTDP_2025,
    note: null,
  }) as const;

describe('selection (a society within a programme)', () => {
  describe('recommendation quota', () => {
    it('given two live recommendations, when a third eligible candidate is recommended, then CandidateRecommended', () => {
      spec
        .given([recommended('a'), recommended('b')])
        .when(recommend('c'))
        .then([recommended('c')]);
    });

    it('given three live recommendations, when a fourth is recommended, then QUOTA_REACHED (409)', () => {
      spec
        .given([recommended('a'), recommended('b'), recommended('c')])
        .when(recommend('d'))
        .thenFails('QUOTA_REACHED', 'conflict');
    });

    it('given three, one withdrawn, when another is recommended, then the freed slot is used', () => {
      spec
        .given([
          recommended('a'),
          recommended('b'),
          recommended('c'),
          { type: 'RecommendationWithdrawn', data: { ...ref('b'), reason: 'moved abroad' } },
        ])
        .when(recommend('d'))
        .then([recommended('d')]);
    });

    it('given matched and not-selected candidates, then they still hold their slots', () => {
      spec
        .given([
          recommended('a'),
          recommended('b'),
          recommended('c'),
          { type: 'CandidateMatched', data: { ...ref('a'), mentoringSocietyCode: 'B33' } },
          { type: 'CandidateNotSelected', data: { ...ref('b'), reason: 'places filled' } },
        ])
        .when(recommend('d'))
        .thenFails('QUOTA_REACHED');
    });
  });

  it('when an ineligible application is recommended, then NOT_ELIGIBLE (422) naming the failed rules', () => {
    const error = spec
      .given([])
      .when(recommend('x', { nationality: 'US' }))
      .thenFails('NOT_ELIGIBLE', 'rule');
    expect(error.details).toEqual({ failedRules: 'nationality' });
  });

  it('given a declined application, when it is recommended, then ALREADY_DECIDED (409)', () => {
    spec
      .given([{ type: 'ApplicationDeclined', data: { ...ref('a'), reason: 'incomplete' } }])
      .when(recommend('a'))
      .thenFails('ALREADY_DECIDED', 'conflict');
  });

  it('given a recommended candidate, when it is declined or recommended again, then ALREADY_DECIDED (409)', () => {
    spec
      .given([recommended('a')])
      .when({ type: 'DeclineApplication', application: application('a'), reason: 'x' })
      .thenFails('ALREADY_DECIDED');
    spec
      .given([recommended('a')])
      .when(recommend('a'))
      .thenFails('ALREADY_DECIDED');
  });

  it('when an undecided application is declined, then ApplicationDeclined with the reason', () => {
    spec
      .given([])
      .when({
        type: 'DeclineApplication',
        application: application('a'),
        reason: 'research field out of scope',
      })
      .then([
        {
          type: 'ApplicationDeclined',
          data: { ...ref('a'), reason: 'research field out of scope' },
        },
      ]);
  });

  describe('order: recommend, then match or not-select, and withdrawal only before matching', () => {
    it('given a recommended candidate, when matched with a participating society, then CandidateMatched', () => {
      spec
        .given([recommended('a')])
        .when({
          type: 'MatchCandidate',
          application: application('a'),
          programme: DTDP_2025,
          mentoringSocietyCode: 'B33',
        })
        .then([{ type: 'CandidateMatched', data: { ...ref('a'), mentoringSocietyCode: 'B33' } }]);
    });

    it('when an unrecommended application is matched or not-selected, then WRONG_STAGE (409)', () => {
      spec
        .given([])
        .when({
          type: 'MatchCandidate',
          application: application('a'),
          programme: DTDP_2025,
          mentoringSocietyCode: 'B33',
        })
        .thenFails('WRONG_STAGE', 'conflict');
      spec
        .given([])
        .when({ type: 'MarkNotSelected', application: application('a'), reason: 'x' })
        .thenFails('WRONG_STAGE', 'conflict');
    });

    it('when matched with a society outside the programme, then SOCIETY_NOT_PARTICIPATING (422)', () => {
      spec
        .given([recommended('a')])
        .when({
          type: 'MatchCandidate',
          application: application('a'),
          programme: DTDP_2025,
          mentoringSocietyCode: 'Z99',
        })
        .thenFails('SOCIETY_NOT_PARTICIPATING', 'rule');
    });

    it('given a matched candidate, when its recommendation is withdrawn, then WRONG_STAGE (409)', () => {
      spec
        .given([
          recommended('a'),
          { type: 'CandidateMatched', data: { ...ref('a'), mentoringSocietyCode: 'B33' } },
        ])
        .when({ type: 'WithdrawRecommendation', application: application('a'), reason: 'x' })
        .thenFails('WRONG_STAGE', 'conflict');
    });

    it('given a recommended candidate, when not selected, then CandidateNotSelected', () => {
      spec
        .given([recommended('a')])
        .when({ type: 'MarkNotSelected', application: application('a'), reason: 'places filled' })
        .then([{ type: 'CandidateNotSelected', data: { ...ref('a'), reason: 'places filled' } }]);
    });
  });
});
