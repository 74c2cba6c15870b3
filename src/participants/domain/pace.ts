import { addDays, daysBetween, type CalendarDate } from '../../shared/domain/calendar';

/** Pace status (docs/DOMAIN.md, "Progress"). */
/** Every pace, in the order docs/API.md lists them. */
export const PACES = ['ahead', 'on_track', 'behind', 'at_risk', 'completed', 'withdrawn'] as const;

export type Pace = (typeof PACES)[number];

/** The stored figures pace is computed from; pace itself depends on today, so it is never stored. */
export type PaceFacts = {
  readonly status: 'active' | 'completed' | 'withdrawn';
  readonly windowStart: CalendarDate;
  readonly windowEnd: CalendarDate;
  readonly requiredHours: number;
  readonly verifiedHours: number;
};

/** Pace and what it rests on, for a given today. */
export type PaceReading = {
  readonly pace: Pace;
  /** Hours a linear pace expects by today, capped at the requirement. */
  readonly expectedHoursToDate: number;
  /** When the total reaches the requirement at the average verified rate so far; null without verified hours. */
  readonly projectedCompletionDate: CalendarDate | null;
};

/**
 * `expected = required × elapsedDays / windowDays` (capped); `ratio = verified / expected`:
 * ahead ≥ 1.1, on_track ≥ 0.9, behind ≥ 0.6, else at_risk; at_risk also once the window has
 * ended short of the requirement; on_track while nothing is expected yet. Completed and
 * withdrawn take precedence.
 */
export function readPace(facts: PaceFacts, today: CalendarDate): PaceReading {
  const { expected, expectedHoursToDate, elapsedDays } = expectedBy(facts, today);
  return {
    pace: paceOf(facts, expected, today),
    expectedHoursToDate,
    projectedCompletionDate: project(facts, elapsedDays),
  };
}

/**
 * What a linear pace expects by `today` of anyone with this window and requirement (capped at
 * the requirement; unrounded, and rounded as shown), and the days of the window elapsed by then.
 */
export function expectedBy(
  facts: Pick<PaceFacts, 'windowStart' | 'windowEnd' | 'requiredHours'>,
  today: CalendarDate,
): {
  readonly expected: number;
  readonly expectedHoursToDate: number;
  readonly elapsedDays: number;
} {
  const windowDays = Math.max(1, daysBetween(facts.windowStart, facts.windowEnd));
  const elapsedDays = Math.min(windowDays, Math.max(0, daysBetween(facts.windowStart, today)));
  const expected = Math.min(facts.requiredHours, (facts.requiredHours * elapsedDays) / windowDays);
  return { expected, expectedHoursToDate: round2(expected), elapsedDays };
}

/**
 * The pace of `facts` when `expected` hours are expected by `today` (from `expectedBy`): what
 * `readPace` reads, without the dates, for whoever reads many participants who share a window.
 */
export function paceOf(facts: PaceFacts, expected: number, today: CalendarDate): Pace {
  if (facts.status === 'completed') return 'completed';
  if (facts.status === 'withdrawn') return 'withdrawn';
  if (today >= facts.windowEnd && facts.verifiedHours < facts.requiredHours) return 'at_risk';
  if (expected === 0) return 'on_track';
  const ratio = facts.verifiedHours / expected;
  if (ratio >= 1.1) return 'ahead';
  if (ratio >= 0.9) return 'on_track';
  if (ratio >= 0.6) return 'behind';
  return 'at_risk';
}

function project(facts: PaceFacts, elapsedDays: number): CalendarDate | null {
  if (facts.verifiedHours <= 0) return null;
  if (facts.verifiedHours >= facts.requiredHours) return addDays(facts.windowStart, elapsedDays);
  // Average verified hours per elapsed day (at least one day, so day one can project too).
  const perDay = facts.verifiedHours / Math.max(1, elapsedDays);
  return addDays(facts.windowStart, Math.ceil(facts.requiredHours / perDay));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
