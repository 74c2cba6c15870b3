import type { RecordedEvent } from '../../event-sourcing';
import type { ParticipantEvent } from '../domain/participant';
import { dayOfAnswer, progressAsOf, timelineAsOf, type AsOf } from './as-of';
import { progressView } from './progress.view';
import { enrolled, LI_WEI, logged } from '../../../test/support/participant-events';

// Li Wei's history, hand-written: a backdated log, a correction, a retraction, and an
// activity after 30 June. Times are UTC; the programme's time zone is Asia/Shanghai (UTC+8).
const P = LI_WEI;
const history: Array<[recordedAt: string, event: ParticipantEvent]> = [];
const at = (recordedAt: string, event: ParticipantEvent) => history.push([recordedAt, event]);
const ref = (activityId: string) => ({ participantId: P, activityId });
const verified = (activityId: string): ParticipantEvent => ({
  type: 'ActivityVerified',
  data: ref(activityId),
});

at('2025-12-20T02:00:00.000Z', enrolled);
at('2026-04-25T02:00:00.000Z', logged('a1-conference', 'professional', 32, '2026-04-20'));
at('2026-04-28T02:00:00.000Z', verified('a1-conference'));
at('2026-06-12T02:00:00.000Z', logged('a2-volunteering', 'social', 20, '2026-06-10'));
at('2026-06-15T02:00:00.000Z', verified('a2-volunteering'));
at('2026-07-03T02:00:00.000Z', logged('a4-assistant', 'social', 10, '2026-07-02'));
at('2026-07-04T02:00:00.000Z', verified('a4-assistant'));
// Happened on 28 June, logged only on 5 July.
at('2026-07-05T02:00:00.000Z', logged('a3-seminar', 'political', 8, '2026-06-28'));
at('2026-07-06T02:00:00.000Z', verified('a3-seminar'));
// The conference was 24 hours, not 32: pending again, then verified again.
at('2026-07-10T02:00:00.000Z', {
  type: 'ActivityCorrected',
  data: {
    ...ref('a1-conference'),
    subjectRef: 'subject-1',
    reason: 'two days, not three',
    hours: 24,
    pillar: 'professional',
    category: 'other_professional',
  },
});
at('2026-07-11T02:00:00.000Z', verified('a1-conference'));
// The volunteering did not take place.
at('2026-07-20T02:00:00.000Z', {
  type: 'ActivityRetracted',
  data: {
    ...ref('a2-volunteering'),
    subjectRef: 'subject-1',
    reason: 'entered for the wrong student',
  },
});

const events: RecordedEvent[] = history.map(([recordedAt, event], i) => ({
  ...event,
  eventId: `e-${i + 1}`,
  streamName: `participant-${P}`,
  revision: i,
  position: 100 + i,
  recordedAt,
  prevHash: null,
  hash: 'h',
  metadata: {
    actor: { sub: 's', role: 'society_staff' },
    correlationId: 'c',
    causationId: null,
    schemaVersion: 1,
  },
}));

const NOW = new Date('2026-08-01T04:00:00.000Z');
const answer = (query: AsOf) => {
  const doc = progressAsOf(P, events, query);
  if (!doc) throw new Error('no progress');
  const view = progressView(doc, dayOfAnswer(query, doc.timeZone, NOW));
  return {
    verifiedHours: view.verifiedHours,
    pendingHours: view.pendingHours,
    expectedHoursToDate: view.expectedHoursToDate,
    pace: view.pace,
    projectedCompletionDate: view.projectedCompletionDate,
  };
};

describe('progress as of a date, as known at an instant (hand-computed)', () => {
  it('neither: everything recorded, pace today (1 August, day 212 of 730)', () => {
    // a1 24 (corrected, verified again) + a3 8 + a4 10; a2 retracted. 240 × 212/730 = 69.70.
    expect(answer({})).toEqual({
      verifiedHours: { political: 8, professional: 24, social: 10, total: 42 },
      pendingHours: 0,
      expectedHoursToDate: 69.7,
      pace: 'behind', // 42 / 69.70 = 0.60
      projectedCompletionDate: '2029-04-27', // 240 / (42/212) = 1211.4 → day 1212
    });
  });

  it('asOf 30 June: what had happened by then, with every later correction and retraction', () => {
    // a1 (20 Apr) as corrected: 24; a2 (10 Jun) retracted; a3 (28 Jun, logged in July) 8; a4
    // (2 Jul) not yet. 240 × 180/730 = 59.18.
    expect(answer({ asOf: '2026-06-30' })).toEqual({
      verifiedHours: { political: 8, professional: 24, social: 0, total: 32 },
      pendingHours: 0,
      expectedHoursToDate: 59.18,
      pace: 'at_risk', // 32 / 59.18 = 0.54
      projectedCompletionDate: '2029-09-12', // 240 / (32/180) = 1350 days
    });
  });

  it('knownAt 15 July 08:00 Shanghai: what the system showed then (before the retraction)', () => {
    // a1 24 (corrected 10 Jul, verified 11 Jul), a2 20 (retracted only on 20 Jul), a3 8, a4 10.
    // Pace read for 15 July: 240 × 195/730 = 64.11.
    expect(answer({ knownAt: '2026-07-15T00:00:00.000Z' })).toEqual({
      verifiedHours: { political: 8, professional: 24, social: 30, total: 62 },
      pendingHours: 0,
      expectedHoursToDate: 64.11,
      pace: 'on_track', // 62 / 64.11 = 0.97
      projectedCompletionDate: '2028-01-26', // 240 / (62/195) = 754.8 → day 755
    });
  });

  it('both: what the system showed on 15 July about 30 June', () => {
    // Known by 15 July and happened by 30 June: a1 24, a2 20 (its retraction not yet
    // recorded), a3 8; not a4. Pace for 30 June: 59.18.
    expect(answer({ asOf: '2026-06-30', knownAt: '2026-07-15T00:00:00.000Z' })).toEqual({
      verifiedHours: { political: 8, professional: 24, social: 20, total: 52 },
      pendingHours: 0,
      expectedHoursToDate: 59.18,
      pace: 'behind', // 52 / 59.18 = 0.88
      projectedCompletionDate: '2028-04-11', // 240 / (52/180) = 830.8 → day 831
    });
  });

  it('a correction recorded after knownAt does not affect the answer; one in between is pending', () => {
    expect(
      answer({ asOf: '2026-06-30', knownAt: '2026-07-08T00:00:00.000Z' }).verifiedHours,
    ).toEqual({ political: 8, professional: 32, social: 20, total: 60 });
    // Between the correction (10 Jul) and its new verification (11 Jul): 24 h pending.
    expect(answer({ knownAt: '2026-07-10T12:00:00.000Z' })).toMatchObject({
      verifiedHours: { political: 8, professional: 0, social: 30, total: 38 },
      pendingHours: 24,
    });
  });

  it('nothing before enrolment: no progress as of a day before the window', () => {
    expect(progressAsOf(P, events, { asOf: '2025-12-31' })).toBeUndefined();
    expect(progressAsOf(P, events, { knownAt: '2025-12-20T01:59:59.999Z' })).toBeUndefined();
  });

  it('the timeline as known at an instant: the events recorded by then, in order', () => {
    const items = timelineAsOf(events, { knownAt: '2026-07-04T02:00:00.000Z' });
    expect(items.map((item) => item.summary)).toEqual([
      'Enrolled from 2026-01-01 to 2028-01-01, sponsored by B33',
      'Logged 32 h professional (other_professional): a1-conference',
      'Activity verified',
      'Logged 20 h social (other_social): a2-volunteering',
      'Activity verified',
      'Logged 10 h social (other_social): a4-assistant',
      'Activity verified',
    ]);
    expect(items.map((item) => item.position)).toEqual([100, 101, 102, 103, 104, 105, 106]);
  });
});
