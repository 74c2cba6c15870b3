import type { Personal } from '../../event-sourcing';
import type { Pillar } from '../../programmes/domain/programme';
import { readPace, type Pace } from './pace';

/** A participation's status, as progress shows it. */
export type ParticipationStatus = 'active' | 'completed' | 'withdrawn';

/**
 * The figures progress is computed from, flat so the progress read model can store them as its
 * index fields: lists and dashboards read these small rows instead of whole documents. Pace
 * depends on today, so it is computed from them when read, never stored.
 */
export type ProgressSummary = {
  readonly participantId: string;
  readonly programmeId: string;
  readonly societyCode: string;
  /**
   * The name as stored (sealed, or plain in records from before sealing), in JSON: index fields
   * are text or numbers. `fullNameOf` reads it back for an answer, where it is opened.
   */
  readonly fullName: string;
  readonly timeZone: string;
  readonly status: ParticipationStatus;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly requiredHours: number;
  readonly verifiedPolitical: number;
  readonly verifiedProfessional: number;
  readonly verifiedSocial: number;
  readonly pendingHours: number;
  readonly lastActivityOn: string | null;
  readonly position: number;
};

/** Progress as docs/API.md shapes it, computed from the stored figures for a given today. */
export type ProgressView = {
  readonly participantId: string;
  readonly programmeId: string;
  readonly societyCode: string;
  readonly status: ParticipationStatus;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly verifiedHours: Readonly<Record<Pillar | 'total', number>>;
  readonly pendingHours: number;
  readonly requiredHours: number;
  readonly percentComplete: number;
  readonly expectedHoursToDate: number;
  readonly pace: Pace;
  readonly projectedCompletionDate: string | null;
  readonly lastActivityOn: string | null;
  readonly position: number;
};

const round2 = (value: number) => Math.round(value * 100) / 100;

/** Progress as docs/API.md shapes it, for `today` (in the programme's time zone). */
export function viewOf(summary: ProgressSummary, today: string): ProgressView {
  const total = round2(
    summary.verifiedPolitical + summary.verifiedProfessional + summary.verifiedSocial,
  );
  const reading = readPace({ ...summary, verifiedHours: total }, today);
  return {
    participantId: summary.participantId,
    programmeId: summary.programmeId,
    societyCode: summary.societyCode,
    status: summary.status,
    windowStart: summary.windowStart,
    windowEnd: summary.windowEnd,
    verifiedHours: {
      political: summary.verifiedPolitical,
      professional: summary.verifiedProfessional,
      social: summary.verifiedSocial,
      total,
    },
    pendingHours: summary.pendingHours,
    requiredHours: summary.requiredHours,
    percentComplete: round2(Math.min(100, (total / summary.requiredHours) * 100)),
    expectedHoursToDate: reading.expectedHoursToDate,
    pace: reading.pace,
    projectedCompletionDate: reading.projectedCompletionDate,
    lastActivityOn: summary.lastActivityOn,
    position: summary.position,
  };
}

/** The name a summary keeps, as the sealed (or legacy plain) value an answer opens. */
export function fullNameOf(summary: Pick<ProgressSummary, 'fullName'>): Personal<string> {
  return JSON.parse(summary.fullName) as Personal<string>;
}
