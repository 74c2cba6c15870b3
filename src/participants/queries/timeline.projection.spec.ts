import type { RecordedEvent } from '../../event-sourcing';
import { foldProjection } from '../../projections/projection';
import { timelineKey, timelineProjection } from './timeline.projection';

const P = '5b1f0c2a-9e3d-5c4b-a1f2-3e4d5c6b7a89';
const recorded = (
  position: number,
  type: string,
  data: Record<string, unknown>,
  streamName = `participant-${P}`,
): RecordedEvent =>
  ({
    type,
    data,
    position,
    streamName,
    revision: position - 1,
    eventId: `e-${position}`,
    recordedAt: `2026-06-0${position}T00:00:00.000Z`,
    prevHash: null,
    hash: 'h',
    metadata: {
      actor: { sub: 'staff-b33', role: 'society_staff' },
      correlationId: 'c',
      causationId: null,
      schemaVersion: 1,
    },
  }) as unknown as RecordedEvent;

describe('timeline projection', () => {
  it('given participant events, then one item each, in position order, with when, who and a summary', () => {
    const items = foldProjection(timelineProjection, [
      recorded(1, 'ActivityLogged', {
        participantId: P,
        activityId: 'a',
        pillar: 'social',
        category: 'other_social',
        title: 'Volunteering',
        occurredOn: '2026-05-01',
        endedOn: null,
        hours: 4,
        evidence: null,
      }),
      recorded(2, 'ActivityRejected', { participantId: P, activityId: 'a', reason: 'no evidence' }),
      recorded(3, 'ApplicationSubmitted', { applicationId: 'x' }, 'application-x'),
      recorded(4, 'ParticipantWithdrawn', {
        participantId: P,
        reason: 'illness',
        withdrawnOn: '2026-06-01',
      }),
    ]);
    expect([...items.keys()]).toEqual([timelineKey(P, 1), timelineKey(P, 2), timelineKey(P, 4)]);
    expect([...items.keys()]).toEqual([...items.keys()].sort());
    expect(items.get(timelineKey(P, 1))).toEqual({
      position: 1,
      type: 'ActivityLogged',
      occurredOn: '2026-05-01',
      recordedAt: '2026-06-01T00:00:00.000Z',
      actor: { sub: 'staff-b33', role: 'society_staff' },
      summary: 'Logged 4 h social (other_social): Volunteering',
      data: expect.objectContaining({ activityId: 'a', hours: 4 }),
    });
    expect(items.get(timelineKey(P, 2))).toMatchObject({
      summary: 'Activity rejected: no evidence',
    });
    expect(items.get(timelineKey(P, 2))).not.toHaveProperty('occurredOn');
    expect(items.get(timelineKey(P, 4))).toMatchObject({
      occurredOn: '2026-06-01',
      summary: 'Withdrew: illness',
    });
  });

  it('orders keys by position numerically, not as text', () => {
    expect(timelineKey(P, 9) < timelineKey(P, 10)).toBe(true);
  });
});
