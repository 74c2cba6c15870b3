import { deciderSpec } from '../../../test/support/decider-spec';
import { DTDP_2025 } from '../../programmes/domain/programme';
import { eligibleForm } from '../../../test/support/programme-fixtures';
import { applicationDecider, type ApplicationCommand, type ApplicationForm } from './application';

const spec = deciderSpec(applicationDecider);

const submit = (submittedAt: string, form: Partial<ApplicationForm> = {}): ApplicationCommand => ({
  type: 'SubmitApplication',
  applicationId: 'app-1',
  programme: DTDP_2025,
  applicantSub: 'student-1',
  subjectRef: 'ref-student-1',
  submittedAt,
  form: { ...eligibleForm, ...form },
});

describe('application', () => {
  describe('deadline (in the programme time zone)', () => {
    it('given no application, when submitted at 2025-11-17T23:59:59+08:00, then it is on time', () => {
      const [event] = applicationDecider.decide(submit('2025-11-17T23:59:59+08:00'), null);
      expect(event!.data).toMatchObject({
        submittedOn: '2025-11-17',
        eligibility: { eligible: true },
      });
      expect(
        event!.data.eligibility.checks.find((check) => check.rule === 'deadline'),
      ).toMatchObject({ passed: true });
    });

    it('when submitted at 2025-11-18T00:00:00+08:00, then DEADLINE_PASSED (422) and nothing is recorded', () => {
      spec.given([]).when(submit('2025-11-18T00:00:00+08:00')).thenFails('DEADLINE_PASSED', 'rule');
    });

    it('reads the instant in Asia/Shanghai: 2025-11-17T16:00:00Z is already the 18th there', () => {
      spec.given([]).when(submit('2025-11-17T16:00:00Z')).thenFails('DEADLINE_PASSED', 'rule');
    });
  });

  describe('eligibility: every rule evaluated and kept with a reason; ineligible is recorded, not refused', () => {
    it('given an eligible applicant, then every check passes, one per rule, in order', () => {
      const [event] = applicationDecider.decide(submit('2025-11-10T09:00:00+08:00'), null);
      expect(event!.data.eligibility.checks.map((check) => [check.rule, check.passed])).toEqual([
        ['deadline', true],
        ['nationality', true],
        ['enrolmentType', true],
        ['degreeLevel', true],
        ['remainingStudy', true],
        ['society', true],
      ]);
    });

    it.each([
      [{ nationality: 'US' }, 'nationality', 'nationality US; eligible: CN'],
      [{ enrolmentType: 'part_time' }, 'enrolmentType', 'enrolment part_time; eligible: full_time'],
      [{ degreeLevel: 'masters' }, 'degreeLevel', 'degree masters; eligible: doctoral'],
      [
        { expectedGraduationDate: '2027-12-31' },
        'remainingStudy',
        'expected graduation 2027-12-31; needs 24 months after the start on 2026-01-01, i.e. on or after 2028-01-01',
      ],
    ])(
      'given %j, then it is recorded as ineligible with the %s rule failing and why',
      (change, rule, detail) => {
        const [event] = applicationDecider.decide(
          submit('2025-11-10T09:00:00+08:00', change),
          null,
        );
        expect(event!.type).toBe('ApplicationSubmitted');
        expect(event!.data.eligibility.eligible).toBe(false);
        const failed = event!.data.eligibility.checks.filter((check) => !check.passed);
        expect(failed).toEqual([{ rule, passed: false, detail }]);
      },
    );

    it('evaluates every rule, not just the first failing one', () => {
      const [event] = applicationDecider.decide(
        submit('2025-11-10T09:00:00+08:00', { nationality: 'US', degreeLevel: 'masters' }),
        null,
      );
      expect(
        event!.data.eligibility.checks.filter((check) => !check.passed).map((check) => check.rule),
      ).toEqual(['nationality', 'degreeLevel']);
    });

    it('graduating exactly 24 months after the start is enough', () => {
      const [event] = applicationDecider.decide(
        submit('2025-11-10T09:00:00+08:00', { expectedGraduationDate: '2028-01-01' }),
        null,
      );
      expect(event!.data.eligibility.eligible).toBe(true);
    });
  });

  it('when the chosen society does not take part, then SOCIETY_NOT_PARTICIPATING (422)', () => {
    spec
      .given([])
      .when(submit('2025-11-10T09:00:00+08:00', { preferredSocietyCode: 'Z99' }))
      .thenFails('SOCIETY_NOT_PARTICIPATING', 'rule');
  });

  it('given a submitted application, when submitted again, then APPLICATION_EXISTS (409)', () => {
    const events = applicationDecider.decide(submit('2025-11-10T09:00:00+08:00'), null);
    spec
      .given(events)
      .when(submit('2025-11-10T09:00:00+08:00'))
      .thenFails('APPLICATION_EXISTS', 'conflict');
  });
});
