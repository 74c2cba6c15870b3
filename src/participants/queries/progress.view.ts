import { PILLARS, type Pillar } from '../../programmes/domain/programme';
import { readPace, type Pace } from '../domain/pace';
import type { ProgressDoc } from './progress.projection';

/** Progress as API.md shapes it, computed from the stored figures for a given today. */
export type ProgressView = {
  readonly participantId: string;
  readonly programmeId: string;
  readonly societyCode: string;
  readonly status: ProgressDoc['status'];
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

/** Totals, percent and pace for `today` (in the programme's time zone). */
export function progressView(doc: ProgressDoc, today: string): ProgressView {
  const verified: Record<Pillar | 'total', number> = {
    political: 0,
    professional: 0,
    social: 0,
    total: 0,
  };
  let pending = 0;
  let lastActivityOn: string | null = null;
  for (const activity of Object.values(doc.activities)) {
    if (activity.status === 'verified') {
      verified[activity.pillar] += activity.hours;
      verified.total += activity.hours;
    } else if (activity.status === 'pending') {
      pending += activity.hours;
    }
    if (activity.status === 'verified' || activity.status === 'pending') {
      const last = activity.endedOn ?? activity.occurredOn;
      if (lastActivityOn === null || last > lastActivityOn) lastActivityOn = last;
    }
  }
  for (const pillar of [...PILLARS, 'total'] as const) verified[pillar] = round2(verified[pillar]);
  const reading = readPace({ ...doc, verifiedHours: verified.total }, today);
  return {
    participantId: doc.participantId,
    programmeId: doc.programmeId,
    societyCode: doc.societyCode,
    status: doc.status,
    windowStart: doc.windowStart,
    windowEnd: doc.windowEnd,
    verifiedHours: verified,
    pendingHours: round2(pending),
    requiredHours: doc.requiredHours,
    percentComplete: round2(Math.min(100, (verified.total / doc.requiredHours) * 100)),
    expectedHoursToDate: reading.expectedHoursToDate,
    pace: reading.pace,
    projectedCompletionDate: reading.projectedCompletionDate,
    lastActivityOn,
    position: doc.position,
  };
}
