import { completionCheck, invitationCheck, type Participant } from '../domain/participant';
import type { ProgressDoc } from './progress.projection';

/** A participant's eligibility now (docs/DOMAIN.md, "Eligibility" per participant). */
export type ParticipantEligibilityView = {
  readonly participantId: string;
  readonly completion: {
    readonly possible: boolean;
    readonly detail: string;
    readonly shortfallHours: number;
  };
  readonly invitation: {
    readonly possible: boolean;
    readonly basis: string | null;
    readonly detail: string;
    readonly pace: string;
  };
  readonly position: number;
};

/** The read model as the domain's rules see a participant, so both answer alike. */
function asParticipant(doc: ProgressDoc): Participant {
  return {
    participantId: doc.participantId,
    subjectRef: doc.subjectRef,
    ...(doc.participantSub !== undefined ? { participantSub: doc.participantSub } : {}),
    societyCode: doc.societyCode,
    windowStart: doc.windowStart,
    windowEnd: doc.windowEnd,
    requiredHours: doc.requiredHours,
    timeZone: doc.timeZone,
    status: doc.status,
    withdrawnOn: null,
    invited: doc.invited,
    activities: new Map(Object.entries(doc.activities)),
    reviews: new Map(Object.entries(doc.reviews)),
  };
}

/** Whether completion, and an invitation, are possible today. */
export function eligibilityView(doc: ProgressDoc, today: string): ParticipantEligibilityView {
  const participant = asParticipant(doc);
  const { basis, ...invitation } = invitationCheck(participant, today);
  return {
    participantId: doc.participantId,
    completion: completionCheck(participant),
    invitation: { ...invitation, basis },
    position: doc.position,
  };
}
