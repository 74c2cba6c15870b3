import type { ParticipantEvent } from '../../src/participants/domain/participant';

/** Li Wei's participant id in the participant specs. */
export const LI_WEI = '5b1f0c2a-9e3d-5c4b-a1f2-3e4d5c6b7a89';

/** Li Wei enrolled in the 2025 programme from 2026-01-01 for two years, 240 hours required. */
export const enrolled: ParticipantEvent = {
  type: 'ParticipantEnrolled',
  data: {
    participantId: LI_WEI,
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

/** An activity of Li Wei's, titled by its id, in the pillar's `other_` category. */
export const logged = (
  activityId: string,
  pillar: 'political' | 'professional' | 'social',
  hours: number,
  occurredOn: string,
): ParticipantEvent => ({
  type: 'ActivityLogged',
  data: {
    participantId: LI_WEI,
    subjectRef: 'subject-1',
    activityId,
    pillar,
    category: `other_${pillar}`,
    title: activityId,
    occurredOn,
    endedOn: null,
    hours,
    evidence: null,
  },
});
