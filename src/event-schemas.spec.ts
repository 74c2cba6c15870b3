import type { EventMetadata, RecordedEvent } from './event-sourcing';
import { EVENT_SCHEMAS } from './event-schemas';
import { PERSONAL_DATA_POLICY } from './personal-data';

const metadata: EventMetadata = {
  actor: { sub: 'staff-1', role: 'society_staff' },
  correlationId: 'c',
  causationId: null,
  schemaVersion: 1,
};

const stored = (type: string, data: RecordedEvent['data']): RecordedEvent => ({
  type,
  data,
  metadata,
  eventId: '0199aaaa-0000-7000-8000-000000000001',
  streamName: 'participant-p1',
  revision: 1,
  position: 2,
  recordedAt: '2026-01-20T01:00:00.000Z',
  prevHash: null,
  hash: 'h',
});

describe('the event schemas', () => {
  it('version every event type the service writes (the personal-data policy lists them all)', () => {
    expect(EVENT_SCHEMAS.types().sort()).toEqual(Object.keys(PERSONAL_DATA_POLICY).sort());
  });

  it('are at version 2 exactly for the types that gained subjectRef when personal data was sealed', () => {
    const withSubject = Object.entries(PERSONAL_DATA_POLICY)
      .filter(
        ([type, classes]) => classes.plain.includes('subjectRef') && type !== 'PersonalDataErased',
      )
      .map(([type]) => type)
      .sort();
    const atVersion2 = EVENT_SCHEMAS.types()
      .filter((type) => EVENT_SCHEMAS.currentVersion(type) === 2)
      .sort();
    expect(atVersion2).toEqual(withSubject);
    expect(EVENT_SCHEMAS.types().filter((type) => EVENT_SCHEMAS.currentVersion(type) > 2)).toEqual(
      [],
    );
  });

  it('read an ActivityLogged written before sealing with subjectRef null, the rest as stored', () => {
    const legacy = stored('ActivityLogged', {
      participantId: 'p1',
      activityId: 'a1',
      pillar: 'political',
      category: 'national_development_seminar',
      title: 'National development strategy seminar',
      occurredOn: '2026-01-15',
      endedOn: '2026-01-17',
      hours: 18,
      evidence: null,
    });
    const read = EVENT_SCHEMAS.upcast(legacy);
    expect(read.data).toEqual({ ...legacy.data, subjectRef: null });
    expect(read.metadata.schemaVersion).toBe(2);
    expect(read.hash).toBe(legacy.hash);
  });

  it('keep the subjectRef of a version-1 event written after sealing began (before versions were stamped per type)', () => {
    const sealed = stored('ActivityLogged', {
      participantId: 'p1',
      activityId: 'a1',
      subjectRef: 'ref-1',
      pillar: 'political',
      category: 'national_development_seminar',
      title: { $sealed: 'pd1:ref-1:title:AAAA:BBBB' },
      occurredOn: '2026-01-15',
      endedOn: null,
      hours: 4,
      evidence: null,
    });
    expect(EVENT_SCHEMAS.upcast(sealed).data).toEqual(sealed.data);
  });

  it('keep the plain participantSub of an enrolment from before sealing: it is how that student is recognised', () => {
    const legacy = stored('ParticipantEnrolled', {
      participantId: 'p1',
      participantSub: 'demo-li-wei',
      fullName: 'Li Wei',
    });
    expect(EVENT_SCHEMAS.upcast(legacy).data).toEqual({
      participantId: 'p1',
      participantSub: 'demo-li-wei',
      fullName: 'Li Wei',
      subjectRef: null,
    });
  });
});
