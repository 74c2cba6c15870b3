import {
  canonicalJson,
  computeEventHash,
  hashCanonicalEvent,
  type HashedEventFields,
} from './event-hash';
import { createHash } from 'node:crypto';

const fields: HashedEventFields = {
  streamName: 'participant-p1',
  revision: 3,
  eventId: '6f1c2a52-8f7e-4c1e-9a57-0d6c4b0a9e11',
  type: 'ActivityLogged',
  data: {
    title: '稀土 seminar "one"',
    hours: 2.5,
    nested: { z: [1, { b: true, a: null }], a: -0 },
  },
  metadata: {
    actor: { sub: 'u-1', role: 'participant' },
    correlationId: 'c',
    causationId: null,
    schemaVersion: 1,
  },
  recordedAt: '2026-03-14T08:00:00.000Z',
  prevHash: 'ab'.repeat(32),
};

describe('event hash', () => {
  it('is SHA-256 over the RFC 8785 canonical JSON of the whole envelope', () => {
    const expected = createHash('sha256').update(canonicalJson(fields)).digest('hex');
    expect(computeEventHash(fields)).toBe(expected);
    expect(
      hashCanonicalEvent({
        ...fields,
        dataJson: canonicalJson(fields.data),
        metadataJson: canonicalJson(fields.metadata),
      }),
    ).toBe(expected);
  });

  it('does not depend on key order', () => {
    const reordered = {
      ...fields,
      data: {
        nested: { a: 0, z: [1, { a: null, b: true }] },
        hours: 2.5,
        title: '稀土 seminar "one"',
      },
    };
    expect(computeEventHash(reordered)).toBe(computeEventHash(fields));
  });

  it('changes with any covered field', () => {
    const base = computeEventHash(fields);
    expect(computeEventHash({ ...fields, prevHash: null })).not.toBe(base);
    expect(computeEventHash({ ...fields, revision: 4 })).not.toBe(base);
    expect(computeEventHash({ ...fields, data: { ...fields.data, hours: 2.6 } })).not.toBe(base);
    expect(computeEventHash({ ...fields, recordedAt: '2026-03-14T08:00:00.001Z' })).not.toBe(base);
  });

  it('is stable across releases (a known vector auditors can recompute)', () => {
    expect(canonicalJson(fields.data)).toBe(
      '{"hours":2.5,"nested":{"a":0,"z":[1,{"a":null,"b":true}]},"title":"稀土 seminar \\"one\\""}',
    );
    expect(computeEventHash(fields)).toBe(
      createHash('sha256')
        .update(
          '{"data":{"hours":2.5,"nested":{"a":0,"z":[1,{"a":null,"b":true}]},"title":"稀土 seminar \\"one\\""},' +
            '"eventId":"6f1c2a52-8f7e-4c1e-9a57-0d6c4b0a9e11",' +
            '"metadata":{"actor":{"role":"participant","sub":"u-1"},"causationId":null,"correlationId":"c","schemaVersion":1},' +
            `"prevHash":"${'ab'.repeat(32)}","recordedAt":"2026-03-14T08:00:00.000Z","revision":3,"streamName":"participant-p1","type":"ActivityLogged"}`,
        )
        .digest('hex'),
    );
  });
});
