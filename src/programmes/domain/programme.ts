import type { DomainEvent, EventFieldPolicy, EventSchemaPolicy } from '../../event-sourcing';
import {
  addMonths,
  isCalendarDate,
  isTimeZone,
  type CalendarDate,
} from '../../shared/domain/calendar';
import { conflict, invalid } from '../../shared/domain/domain-error';

/** The three training pillars and their activity categories (docs/DOMAIN.md). */
export const PILLAR_CATEGORIES = {
  political: [
    'national_development_seminar',
    'scientific_ethics_seminar',
    'scientists_spirit_seminar',
    'other_political',
  ],
  professional: [
    'paper_publication',
    'international_conference',
    'overseas_academic_visit',
    'cross_disciplinary_exchange',
    'other_professional',
  ],
  social: [
    'journal_assistant',
    'institute_assistant',
    'corporate_rnd',
    'innovation_platform',
    'other_social',
  ],
} as const;

/** A training pillar. */
export type Pillar = keyof typeof PILLAR_CATEGORIES;
/** Every pillar, in display order. */
export const PILLARS = Object.keys(PILLAR_CATEGORIES) as Pillar[];
/** Every activity category. */
export const CATEGORIES = Object.values(PILLAR_CATEGORIES).flat() as string[];

/** Enrolment types a programme may admit. */
export const ENROLMENT_TYPES = ['full_time', 'part_time'] as const;
/** Degree levels a programme may admit. */
export const DEGREE_LEVELS = ['doctoral', 'masters'] as const;

/** A sponsoring (and possibly mentoring) learned society. */
export type Society = {
  readonly code: string;
  readonly name: string;
};

/** A programme's rules: data, so a later cohort needs no code change (docs/API.md, "Programme"). */
export type ProgrammeRules = {
  readonly programmeId: string;
  readonly name: string;
  /** IANA zone in which deadlines and activity dates are read, e.g. `Asia/Shanghai`. */
  readonly timeZone: string;
  /** Last day (inclusive, in `timeZone`) on which applications are accepted. */
  readonly applicationDeadline: CalendarDate;
  readonly startDate: CalendarDate;
  readonly eligibleNationalities: readonly string[];
  readonly enrolmentTypes: readonly string[];
  readonly degreeLevels: readonly string[];
  readonly minRemainingStudyMonths: number;
  readonly recommendationQuota: number;
  readonly durationMonths: number;
  readonly requiredHours: number;
  readonly societies: readonly Society[];
};

/** Events of the programme stream. */
export type ProgrammeEvent = DomainEvent<'ProgrammeDefined', ProgrammeRules>;

/** A programme's rules are about no one: nothing in them is personal data. */
export const PROGRAMME_EVENT_FIELDS: EventFieldPolicy<ProgrammeEvent> = {
  ProgrammeDefined: {
    plain: [
      'programmeId',
      'name',
      'timeZone',
      'applicationDeadline',
      'startDate',
      'eligibleNationalities[]',
      'enrolmentTypes[]',
      'degreeLevels[]',
      'minRemainingStudyMonths',
      'recommendationQuota',
      'durationMonths',
      'requiredHours',
      'societies[].code',
      'societies[].name',
    ],
  },
};

/** The schema version of the programme's events (docs/design.md, "Schema versions and upcasting"). */
export const PROGRAMME_EVENT_SCHEMAS: EventSchemaPolicy<ProgrammeEvent> = {
  ProgrammeDefined: { version: 1 },
};

/** Commands of the programme stream. */
export type ProgrammeCommand = { readonly type: 'DefineProgramme'; readonly rules: ProgrammeRules };

/** Undefined until `ProgrammeDefined`, then its rules. */
export type ProgrammeState =
  { readonly defined: false } | { readonly defined: true; readonly rules: ProgrammeRules };

/** The stream of one programme. */
export const programmeStream = (programmeId: string) => `programme-${programmeId}`;

/** The 2025 national Doctoral Talent Development Programme (docs/DOMAIN.md, "Programme rules"). */
export const DTDP_2025: ProgrammeRules = {
  programmeId: 'cast-dtdp-2025',
  name: 'CAST Doctoral Talent Development Programme 2025',
  timeZone: 'Asia/Shanghai',
  applicationDeadline: '2025-11-17',
  startDate: '2026-01-01',
  eligibleNationalities: ['CN'],
  enrolmentTypes: ['full_time'],
  degreeLevels: ['doctoral'],
  minRemainingStudyMonths: 24,
  recommendationQuota: 3,
  durationMonths: 24,
  requiredHours: 240,
  societies: [{ code: 'B33', name: 'China Rare Earth Society' }],
};

export const programmeDecider = {
  initialState: (): ProgrammeState => ({ defined: false }),
  evolve: (_state: ProgrammeState, event: ProgrammeEvent): ProgrammeState => {
    switch (event.type) {
      case 'ProgrammeDefined':
        return { defined: true, rules: event.data };
    }
  },
  decide: (command: ProgrammeCommand, state: ProgrammeState): ProgrammeEvent[] => {
    switch (command.type) {
      case 'DefineProgramme': {
        assertCoherent(command.rules);
        if (state.defined) {
          // Defining the same programme again (e.g. `seed` on every start) changes nothing.
          if (sameRules(state.rules, command.rules)) return [];
          throw conflict(
            'PROGRAMME_ALREADY_DEFINED',
            `Programme '${command.rules.programmeId}' is already defined with other rules; rules are facts and are not redefined.`,
          );
        }
        return [{ type: 'ProgrammeDefined', data: { ...command.rules } }];
      }
    }
  },
};

/** The date a participant enrolled on `startDate` reaches the end of the programme window. */
export function windowEnd(
  rules: Pick<ProgrammeRules, 'durationMonths'>,
  startDate: CalendarDate,
): CalendarDate {
  return addMonths(startDate, rules.durationMonths);
}

function sameRules(a: ProgrammeRules, b: ProgrammeRules): boolean {
  return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
}

function normalise(rules: ProgrammeRules): unknown {
  return Object.fromEntries(Object.entries(rules).sort(([x], [y]) => x.localeCompare(y)));
}

// What a DTO cannot check field by field: rules that relate fields to each other.
function assertCoherent(rules: ProgrammeRules): void {
  if (!isTimeZone(rules.timeZone)) {
    throw invalid(
      'UNKNOWN_TIME_ZONE',
      `timeZone '${rules.timeZone}' is not an IANA time zone such as Asia/Shanghai.`,
    );
  }
  for (const field of ['applicationDeadline', 'startDate'] as const) {
    if (!isCalendarDate(rules[field]))
      throw invalid('INVALID_DATE', `${field} must be a real date in YYYY-MM-DD form.`);
  }
  // Rolling admission is allowed: applications may stay open after the first participants
  // start. A deadline at or after the end of the window that opens on startDate could admit
  // nobody who still has time to take part, so that is the one ordering refused.
  const end = windowEnd(rules, rules.startDate);
  if (rules.applicationDeadline >= end) {
    throw invalid(
      'DEADLINE_AFTER_WINDOW',
      `applicationDeadline must fall before the end of the programme window (${end}: startDate plus durationMonths).`,
    );
  }
  const codes = rules.societies.map((society) => society.code);
  if (new Set(codes).size !== codes.length)
    throw invalid('DUPLICATE_SOCIETY', 'Each society code may appear once.');
}
