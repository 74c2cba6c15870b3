import type { RecordedEvent } from '../../event-sourcing';
import { foldProjection } from '../../projections/projection';
import type { ParticipantEvent } from '../domain/participant';
import { progressProjection, type ProgressDoc } from './progress.projection';
import { progressView } from './progress.view';
import { enrolled, LI_WEI, logged } from '../../../test/support/participant-events';

const P = LI_WEI;
let position = 0;
function recorded(event: ParticipantEvent): RecordedEvent {
  position += 1;
  return {
    ...event,
    eventId: `e-${position}`,
    streamName: `participant-${P}`,
    revision: position - 1,
    position,
    recordedAt: '2026-06-01T00:00:00.000Z',
    prevHash: null,
    hash: 'h',
    metadata: {
      actor: { sub: 's', role: 'society_staff' },
      correlationId: 'c',
      causationId: null,
      schemaVersion: 1,
    },
  };
}

function given(events: ParticipantEvent[]): ProgressDoc {
  position = 0;
  return foldProjection(progressProjection, events.map(recorded)).get(P)!;
}

describe('progress projection', () => {
  it('given activities verified, pending, corrected, rejected and retracted, then only verified hours count, per pillar', () => {
    const doc = given([
      enrolled,
      logged('a', 'political', 10, '2026-02-01'),
      { type: 'ActivityVerified', data: { participantId: P, activityId: 'a' } },
      logged('b', 'professional', 20, '2026-03-01'),
      { type: 'ActivityVerified', data: { participantId: P, activityId: 'b' } },
      {
        type: 'ActivityCorrected',
        data: {
          participantId: P,
          subjectRef: 'subject-1',
          activityId: 'b',
          reason: 'r',
          hours: 25,
          pillar: 'professional',
          category: 'other_professional',
        },
      },
      logged('c', 'social', 5, '2026-04-01'),
      {
        type: 'ActivityRejected',
        data: { participantId: P, activityId: 'c', subjectRef: 'subject-1', reason: 'r' },
      },
      logged('d', 'social', 7, '2026-05-01'),
      { type: 'ActivityVerified', data: { participantId: P, activityId: 'd' } },
      {
        type: 'ActivityRetracted',
        data: { participantId: P, activityId: 'd', subjectRef: 'subject-1', reason: 'r' },
      },
    ]);
    expect(doc).toMatchObject({ status: 'active', position: 11, revision: 10 });
    const view = progressView(doc, '2026-07-02');
    expect(view).toMatchObject({
      verifiedHours: { political: 10, professional: 0, social: 0, total: 10 },
      pendingHours: 25,
      requiredHours: 240,
      percentComplete: 4.17,
      lastActivityOn: '2026-03-01',
      position: 11,
    });
    // 182 of 730 days: 59.84 expected; 10 verified is at risk.
    expect(view).toMatchObject({ expectedHoursToDate: 59.84, pace: 'at_risk' });
  });

  it('given completion or withdrawal, then the status says so and pace follows it', () => {
    const completed = given([
      enrolled,
      {
        type: 'ParticipationCompleted',
        data: { participantId: P, verifiedHours: 240, completedOn: '2027-05-01' },
      },
    ]);
    expect(progressView(completed, '2027-06-01')).toMatchObject({
      status: 'completed',
      pace: 'completed',
    });
    const withdrawn = given([
      enrolled,
      {
        type: 'ParticipantWithdrawn',
        data: { participantId: P, subjectRef: 'subject-1', reason: 'r', withdrawnOn: '2026-03-01' },
      },
    ]);
    expect(progressView(withdrawn, '2026-06-01')).toMatchObject({
      status: 'withdrawn',
      pace: 'withdrawn',
    });
  });

  it('ignores events of other streams', () => {
    expect(
      progressProjection.keysOf({
        type: 'ApplicationSubmitted',
        streamName: 'application-x',
      } as RecordedEvent),
    ).toEqual([]);
  });

  it('evolveOwned (the batch owning its documents) gives what evolve gives, and a refused event leaves the document as it was', () => {
    position = 0;
    const events = [
      enrolled,
      logged('a', 'political', 10, '2026-02-01'),
      { type: 'ActivityVerified', data: { participantId: P, activityId: 'a' } },
      logged('b', 'social', 4, '2026-03-01'),
      {
        type: 'ProgressReviewed',
        data: { participantId: P, period: '2026-H1', rating: 'exceptional' },
      },
      {
        type: 'ActivityRetracted',
        data: { participantId: P, activityId: 'b', subjectRef: 'subject-1', reason: 'r' },
      },
    ].map((event) => recorded(event as ParticipantEvent));
    let pure: ProgressDoc | null = null;
    let owned: ProgressDoc | null = null;
    for (const event of events) {
      pure = progressProjection.evolve(pure, event, P);
      // Each fold makes its own documents (enrolment starts both afresh), so changing the owned
      // one in place cannot reach the pure one compared with it at the end.
      owned = progressProjection.evolveOwned!(owned, event, P);
    }
    expect(owned).toEqual(pure);
    const before = structuredClone(owned);
    position = 0;
    const unknown = recorded({
      type: 'ActivityVerified',
      data: { participantId: P, activityId: 'never-logged' },
    });
    expect(() => progressProjection.evolveOwned!(owned, unknown, P)).toThrow('not known');
    expect(owned).toEqual(before);
  });
});
