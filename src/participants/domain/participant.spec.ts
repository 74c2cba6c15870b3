import { deciderSpec } from '../../../test/support/decider-spec';
import { eligibleForm } from '../../../test/support/programme-fixtures';
import { applicationDecider } from '../../applications/domain/application';
import { DTDP_2025 } from '../../programmes/domain/programme';
import { participantDecider, type ParticipantCommand, type ParticipantEvent } from './participant';

const spec = deciderSpec(participantDecider);
const [submitted] = applicationDecider.decide(
  {
    type: 'SubmitApplication',
    applicationId: 'app-1',
    programme: DTDP_2025,
    applicantSub: 'student-1',
    subjectRef: 'subject-1',
    submittedAt: '2025-11-10T09:00:00+08:00',
    form: eligibleForm,
  },
  null,
);
const application = submitted!.data;
const participantId = 'p-1';

const enrolled: ParticipantEvent = {
  type: 'ParticipantEnrolled',
  data: {
    participantId,
    applicationId: 'app-1',
    programmeId: 'cast-dtdp-2025',
    subjectRef: 'subject-1',
    fullName: 'Li Wei',
    societyCode: 'B33',
    mentoringSocietyCode: 'B33',
    startDate: '2026-01-01',
    windowEnd: '2028-01-01',
    requiredHours: 240,
    timeZone: 'Asia/Shanghai',
  },
};

const log = (
  change: Partial<Extract<ParticipantCommand, { type: 'LogActivity' }>> = {},
): ParticipantCommand => ({
  type: 'LogActivity',
  activityId: 'act-1',
  pillar: 'professional',
  category: 'international_conference',
  title: 'Rare Earth Conference, Baotou',
  occurredOn: '2026-03-14',
  endedOn: null,
  hours: 8,
  evidence: null,
  today: '2026-04-01',
  ...change,
});

const logged = (activityId: string, hours: number): ParticipantEvent => ({
  type: 'ActivityLogged',
  data: {
    participantId,
    subjectRef: 'subject-1',
    activityId,
    pillar: 'social',
    category: 'journal_assistant',
    title: 'Editing',
    occurredOn: '2026-03-01',
    endedOn: '2026-03-31',
    hours,
    evidence: null,
  },
});
const verified = (activityId: string): ParticipantEvent => ({
  type: 'ActivityVerified',
  data: { participantId, activityId },
});
const review = (period: string, rating: 'exceptional' | 'satisfactory'): ParticipantEvent => ({
  type: 'ProgressReviewed',
  data: { participantId, subjectRef: 'subject-1', period, rating, note: null },
});

describe('participant', () => {
  describe('enrolment', () => {
    const enrol = (
      status: 'matched' | 'recommended' | undefined,
      startDate = '2026-01-01',
    ): ParticipantCommand => ({
      type: 'EnrolParticipant',
      participantId,
      application,
      selection: { status, mentoringSocietyCode: status === 'matched' ? 'B33' : null },
      programme: DTDP_2025,
      startDate,
    });

    it('given a matched candidate, when enrolled, then the window runs durationMonths from the start date', () => {
      spec.given([]).when(enrol('matched')).then([enrolled]);
    });

    it('given a candidate that is only recommended, when enrolled, then WRONG_STAGE (409)', () => {
      spec.given([]).when(enrol('recommended')).thenFails('WRONG_STAGE', 'conflict');
      spec.given([]).when(enrol(undefined)).thenFails('WRONG_STAGE', 'conflict');
    });

    it('given an enrolled participant, when enrolled again, then ALREADY_ENROLLED (409)', () => {
      spec.given([enrolled]).when(enrol('matched')).thenFails('ALREADY_ENROLLED', 'conflict');
    });

    it('when the start date is before the programme starts, then START_BEFORE_PROGRAMME (422)', () => {
      spec
        .given([])
        .when(enrol('matched', '2025-12-31'))
        .thenFails('START_BEFORE_PROGRAMME', 'rule');
    });
  });

  describe('logging activities', () => {
    it('given an active participant, when a past activity inside the window is logged, then ActivityLogged (pending)', () => {
      const {
        type: _type,
        today: _today,
        ...fields
      } = log() as Extract<ParticipantCommand, { type: 'LogActivity' }>;
      spec
        .given([enrolled])
        .when(log())
        .then([
          { type: 'ActivityLogged', data: { participantId, subjectRef: 'subject-1', ...fields } },
        ]);
    });

    it('when nobody is enrolled, then PARTICIPANT_NOT_FOUND (404)', () => {
      spec.given([]).when(log()).thenFails('PARTICIPANT_NOT_FOUND', 'not_found');
    });

    it('when the category belongs to another pillar, then CATEGORY_NOT_IN_PILLAR (422)', () => {
      spec
        .given([enrolled])
        .when(log({ pillar: 'political', category: 'international_conference' }))
        .thenFails('CATEGORY_NOT_IN_PILLAR', 'rule');
    });

    it.each([
      [0, null],
      [-1, null],
      [24.5, null],
      [48.5, '2026-03-15'],
    ])('when %d hours are logged (ending %s), then HOURS_OUT_OF_RANGE (422)', (hours, endedOn) => {
      spec.given([enrolled]).when(log({ hours, endedOn })).thenFails('HOURS_OUT_OF_RANGE', 'rule');
    });

    it('allows up to 24 hours per calendar day spanned', () => {
      expect(
        participantDecider.decide(log({ hours: 24 }), participantDecider.evolve(null, enrolled)),
      ).toHaveLength(1);
      expect(
        participantDecider.decide(
          log({ hours: 72, endedOn: '2026-03-16' }),
          participantDecider.evolve(null, enrolled),
        ),
      ).toHaveLength(1);
    });

    it('when endedOn falls before occurredOn, then INVALID_DATE_RANGE (422)', () => {
      spec
        .given([enrolled])
        .when(log({ endedOn: '2026-03-13' }))
        .thenFails('INVALID_DATE_RANGE', 'rule');
    });

    it.each([
      ['2025-12-31', null],
      ['2027-12-31', '2028-01-01'],
    ])(
      'when it happened outside the window (%s to %s), then OUTSIDE_WINDOW (422)',
      (occurredOn, endedOn) => {
        spec
          .given([enrolled])
          .when(log({ occurredOn, endedOn, hours: 4, today: '2028-02-01' }))
          .thenFails('OUTSIDE_WINDOW', 'rule');
      },
    );

    it('when it ends after today, then IN_FUTURE (422)', () => {
      spec
        .given([enrolled])
        .when(log({ occurredOn: '2026-04-01', endedOn: '2026-04-02', today: '2026-04-01' }))
        .thenFails('IN_FUTURE', 'rule');
      expect(
        participantDecider.decide(
          log({ occurredOn: '2026-04-01', today: '2026-04-01' }),
          participantDecider.evolve(null, enrolled),
        ),
      ).toHaveLength(1);
    });

    it('given a withdrawn participant, when an activity is logged, then PARTICIPANT_WITHDRAWN (422)', () => {
      spec
        .given([
          enrolled,
          {
            type: 'ParticipantWithdrawn',
            data: {
              participantId,
              subjectRef: 'subject-1',
              reason: 'left PhD',
              withdrawnOn: '2026-03-20',
            },
          },
        ])
        .when(log())
        .thenFails('PARTICIPANT_WITHDRAWN', 'rule');
    });
  });

  describe('verification, rejection, correction, retraction', () => {
    it('given a pending activity, when verified or rejected, then the event', () => {
      spec
        .given([enrolled, logged('a', 10)])
        .when({ type: 'VerifyActivity', activityId: 'a' })
        .then([verified('a')]);
      spec
        .given([enrolled, logged('a', 10)])
        .when({ type: 'RejectActivity', activityId: 'a', reason: 'no evidence' })
        .then([
          {
            type: 'ActivityRejected',
            data: {
              participantId,
              activityId: 'a',
              subjectRef: 'subject-1',
              reason: 'no evidence',
            },
          },
        ]);
    });

    it('given a verified or rejected activity, when verified again, then ACTIVITY_NOT_PENDING (409)', () => {
      spec
        .given([enrolled, logged('a', 10), verified('a')])
        .when({ type: 'VerifyActivity', activityId: 'a' })
        .thenFails('ACTIVITY_NOT_PENDING', 'conflict');
      spec
        .given([
          enrolled,
          logged('a', 10),
          {
            type: 'ActivityRejected',
            data: { participantId, activityId: 'a', subjectRef: 'subject-1', reason: 'x' },
          },
        ])
        .when({ type: 'RejectActivity', activityId: 'a', reason: 'y' })
        .thenFails('ACTIVITY_NOT_PENDING');
    });

    it('when the activity does not exist, then ACTIVITY_NOT_FOUND (404)', () => {
      spec
        .given([enrolled])
        .when({ type: 'VerifyActivity', activityId: 'nope' })
        .thenFails('ACTIVITY_NOT_FOUND', 'not_found');
    });

    it('given a verified activity, when corrected, then it is pending again and can be verified again', () => {
      const corrected: ParticipantEvent = {
        type: 'ActivityCorrected',
        data: {
          participantId,
          subjectRef: 'subject-1',
          activityId: 'a',
          reason: 'typo',
          hours: 12,
          pillar: 'social',
          category: 'journal_assistant',
        },
      };
      spec
        .given([enrolled, logged('a', 10), verified('a')])
        .when({ type: 'CorrectActivity', activityId: 'a', reason: 'typo', hours: 12 })
        .then([corrected]);
      spec
        .given([enrolled, logged('a', 10), verified('a'), corrected])
        .when({ type: 'VerifyActivity', activityId: 'a' })
        .then([verified('a')]);
    });

    it('when a correction leaves pillar and category mismatched, or too many hours, then 422', () => {
      spec
        .given([enrolled, logged('a', 10)])
        .when({ type: 'CorrectActivity', activityId: 'a', reason: 'x', pillar: 'political' })
        .thenFails('CATEGORY_NOT_IN_PILLAR', 'rule');
      spec
        .given([enrolled, logged('a', 10)])
        .when({ type: 'CorrectActivity', activityId: 'a', reason: 'x', hours: 745 })
        .thenFails('HOURS_OUT_OF_RANGE', 'rule');
    });

    it('given a retracted activity, when retracted or corrected, then ACTIVITY_RETRACTED (409)', () => {
      const retracted: ParticipantEvent = {
        type: 'ActivityRetracted',
        data: { participantId, activityId: 'a', subjectRef: 'subject-1', reason: 'duplicate' },
      };
      spec
        .given([enrolled, logged('a', 10), retracted])
        .when({ type: 'RetractActivity', activityId: 'a', reason: 'x' })
        .thenFails('ACTIVITY_RETRACTED', 'conflict');
      spec
        .given([enrolled, logged('a', 10), retracted])
        .when({ type: 'CorrectActivity', activityId: 'a', reason: 'x', hours: 2 })
        .thenFails('ACTIVITY_RETRACTED');
    });
  });

  describe('completion', () => {
    it('given 240 verified hours, when completed, then ParticipationCompleted', () => {
      spec
        .given([enrolled, logged('a', 200), verified('a'), logged('b', 40), verified('b')])
        .when({ type: 'CompleteParticipation', today: '2027-06-30' })
        .then([
          {
            type: 'ParticipationCompleted',
            data: { participantId, verifiedHours: 240, completedOn: '2027-06-30' },
          },
        ]);
    });

    it('given 230 verified and 50 pending hours, when completed, then HOURS_NOT_MET (422) with the shortfall', () => {
      const error = spec
        .given([enrolled, logged('a', 230), verified('a'), logged('b', 50)])
        .when({ type: 'CompleteParticipation', today: '2027-06-30' })
        .thenFails('HOURS_NOT_MET', 'rule');
      expect(error.details).toMatchObject({ shortfallHours: 10 });
      expect(error.message).toContain('10 short');
    });

    it('given a retracted verified activity, then its hours no longer count', () => {
      spec
        .given([
          enrolled,
          logged('a', 240),
          verified('a'),
          {
            type: 'ActivityRetracted',
            data: { participantId, activityId: 'a', subjectRef: 'subject-1', reason: 'duplicate' },
          },
        ])
        .when({ type: 'CompleteParticipation', today: '2027-06-30' })
        .thenFails('HOURS_NOT_MET');
    });
  });

  describe('withdrawal and reviews', () => {
    it('given an active participant, when withdrawn, then ParticipantWithdrawn dated today; twice is ALREADY_WITHDRAWN (409)', () => {
      const withdrawn: ParticipantEvent = {
        type: 'ParticipantWithdrawn',
        data: {
          participantId,
          subjectRef: 'subject-1',
          reason: 'illness',
          withdrawnOn: '2026-05-01',
        },
      };
      spec
        .given([enrolled])
        .when({ type: 'WithdrawParticipant', reason: 'illness', today: '2026-05-01' })
        .then([withdrawn]);
      spec
        .given([enrolled, withdrawn])
        .when({ type: 'WithdrawParticipant', reason: 'x', today: '2026-05-02' })
        .thenFails('ALREADY_WITHDRAWN', 'conflict');
    });

    it('given a review for a period, when the same period is reviewed again, then REVIEW_EXISTS (409)', () => {
      spec
        .given([enrolled])
        .when({ type: 'ReviewProgress', period: '2026-H1', rating: 'exceptional', note: null })
        .then([review('2026-H1', 'exceptional')]);
      spec
        .given([enrolled, review('2026-H1', 'satisfactory')])
        .when({ type: 'ReviewProgress', period: '2026-H1', rating: 'exceptional', note: null })
        .thenFails('REVIEW_EXISTS');
    });
  });

  describe('Advancement Association invitation', () => {
    const completed: ParticipantEvent = {
      type: 'ParticipationCompleted',
      data: { participantId, verifiedHours: 240, completedOn: '2027-06-30' },
    };

    it('given a completed participant, then the invitation is issued on that basis', () => {
      spec
        .given([enrolled, logged('a', 240), verified('a'), completed])
        .when({ type: 'InviteToAdvancementAssociation', today: '2027-07-01' })
        .then([
          { type: 'AdvancementAssociationInvited', data: { participantId, basis: 'completed' } },
        ]);
    });

    it('given on track (120 h by 2027-01-01) with an exceptional review, then the invitation is issued', () => {
      spec
        .given([enrolled, logged('a', 120), verified('a'), review('2026-H2', 'exceptional')])
        .when({ type: 'InviteToAdvancementAssociation', today: '2027-01-01' })
        .then([
          {
            type: 'AdvancementAssociationInvited',
            data: { participantId, basis: 'exceptional_on_track' },
          },
        ]);
    });

    it('given on track without an exceptional review, or exceptional but behind, then NOT_EXCEPTIONAL (422)', () => {
      spec
        .given([enrolled, logged('a', 120), verified('a'), review('2026-H2', 'satisfactory')])
        .when({ type: 'InviteToAdvancementAssociation', today: '2027-01-01' })
        .thenFails('NOT_EXCEPTIONAL', 'rule');
      spec
        .given([enrolled, logged('a', 80), verified('a'), review('2026-H2', 'exceptional')])
        .when({ type: 'InviteToAdvancementAssociation', today: '2027-01-01' })
        .thenFails('NOT_EXCEPTIONAL', 'rule');
    });

    it('given an invitation, when invited again, then ALREADY_INVITED (409)', () => {
      spec
        .given([
          enrolled,
          logged('a', 240),
          verified('a'),
          completed,
          { type: 'AdvancementAssociationInvited', data: { participantId, basis: 'completed' } },
        ])
        .when({ type: 'InviteToAdvancementAssociation', today: '2027-07-01' })
        .thenFails('ALREADY_INVITED', 'conflict');
    });
  });
});
