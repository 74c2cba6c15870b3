import type { Personal } from '../../event-sourcing';
import { addMonths, localDate, type CalendarDate } from '../../shared/domain/calendar';
import type { ProgrammeRules } from '../../programmes/domain/programme';

/** The rules an application is checked against, in the order staff read them. */
export const ELIGIBILITY_RULES = [
  'deadline',
  'nationality',
  'enrolmentType',
  'degreeLevel',
  'remainingStudy',
  'society',
] as const;

/** One eligibility rule. */
export type EligibilityRule = (typeof ELIGIBILITY_RULES)[number];

/** One rule's verdict and the reason, kept so staff see why an application fails. */
export type EligibilityCheck = {
  readonly rule: EligibilityRule;
  readonly passed: boolean;
  /** Why, quoting the applicant's facts: sealed once stored. */
  readonly detail: Personal<string>;
};

/** Every rule's verdict (docs/API.md, "Eligibility"). */
export type Eligibility = {
  readonly eligible: boolean;
  readonly checks: readonly EligibilityCheck[];
};

/** What eligibility looks at in an application. */
export type ApplicantFacts = {
  readonly nationality: string;
  readonly enrolmentType: string;
  readonly degreeLevel: string;
  readonly expectedGraduationDate: CalendarDate;
  readonly preferredSocietyCode: string;
};

/**
 * Evaluates every rule (none short-circuits) against the programme's rules, for an application
 * submitted at `submittedAt`. The deadline is read in the programme's time zone: the whole of
 * the deadline date there is on time.
 */
export function evaluateEligibility(
  rules: ProgrammeRules,
  facts: ApplicantFacts,
  submittedAt: string,
): Eligibility {
  const submittedOn = localDate(submittedAt, rules.timeZone);
  const graduationNeeded = addMonths(rules.startDate, rules.minRemainingStudyMonths);
  const society = rules.societies.find(
    (candidate) => candidate.code === facts.preferredSocietyCode,
  );
  const checks: EligibilityCheck[] = [
    check(
      'deadline',
      submittedOn <= rules.applicationDeadline,
      `submitted on ${submittedOn} (${rules.timeZone}); the deadline is the end of ${rules.applicationDeadline}`,
    ),
    check(
      'nationality',
      rules.eligibleNationalities.includes(facts.nationality),
      `nationality ${facts.nationality}; eligible: ${rules.eligibleNationalities.join(', ')}`,
    ),
    check(
      'enrolmentType',
      rules.enrolmentTypes.includes(facts.enrolmentType),
      `enrolment ${facts.enrolmentType}; eligible: ${rules.enrolmentTypes.join(', ')}`,
    ),
    check(
      'degreeLevel',
      rules.degreeLevels.includes(facts.degreeLevel),
      `degree ${facts.degreeLevel}; eligible: ${rules.degreeLevels.join(', ')}`,
    ),
    check(
      'remainingStudy',
      facts.expectedGraduationDate >= graduationNeeded,
      `expected graduation ${facts.expectedGraduationDate}; needs ${rules.minRemainingStudyMonths} months after the start on ${rules.startDate}, i.e. on or after ${graduationNeeded}`,
    ),
    check(
      'society',
      society !== undefined,
      society
        ? `${society.name} (${society.code}) participates in the programme`
        : `society ${facts.preferredSocietyCode} does not participate in the programme`,
    ),
  ];
  return { eligible: checks.every((one) => one.passed), checks };
}

function check(rule: EligibilityRule, passed: boolean, detail: string): EligibilityCheck {
  return { rule, passed, detail };
}
