import {
  canonicalJson,
  computeEventHash,
  hashCanonicalEvent,
  type HashedEventFields,
} from './event-hash';
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';

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

describe('canonicalJson', () => {
  // Every stored hash covers this text, so it must stay byte for byte what the `canonicalize`
  // package (the reference it replaced) writes, and refuse exactly what it refuses.
  const reference = (value: unknown): { json?: string | undefined; error?: true } => {
    try {
      return { json: canonicalize(value) };
    } catch {
      return { error: true };
    }
  };
  const ours = (value: unknown): { json?: string | undefined; error?: true } => {
    try {
      return { json: canonicalJson(value) };
    } catch {
      return { error: true };
    }
  };
  const sameAsReference = (value: unknown) => {
    const expected = reference(value);
    // canonicalJson throws where the reference answers undefined (no JSON at all).
    expect(ours(value)).toEqual(expected.json === undefined ? { error: true } : expected);
  };

  // Strings from every UTF-16 code unit, and strings made mostly of the characters that take
  // another path (quotes, backslashes, controls, surrogate pairs and halves).
  const special = fc.constantFrom(
    'a',
    '"',
    '\\',
    '\n',
    '\u0000',
    '\u001f',
    '\u007f',
    '\u2028',
    '\ud800',
    '\udc00',
    '\ud83d\ude00',
    'é',
  );
  const anyText = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
    fc.string({ unit: special }),
  );

  it('writes what the reference writes for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), sameAsReference), { numRuns: 2000 });
  });

  it('writes and refuses what the reference does for strings, keys and odd values', () => {
    const leaf = fc.oneof(
      anyText,
      fc.double(),
      fc.integer(),
      fc.constantFrom(-0, NaN, Infinity, -Infinity, true, false, null, undefined),
      fc.constantFrom(
        () => 1,
        Symbol('s'),
        new Date(0),
        new Number(2),
        new String('x\u0001'),
        new Boolean(false),
      ),
      fc.constantFrom(
        { toJSON: () => undefined },
        { toJSON: () => ({ b: 1, a: [2] }) },
        { toJSON: () => NaN },
      ),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 5 }),
      object: fc.dictionary(anyText, tie('node'), { maxKeys: 6 }),
    })).node;
    fc.assert(fc.property(value, sameAsReference), { numRuns: 3000 });
  });

  it('refuses cycles, also through toJSON, and accepts a value shared twice', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = { inner: cycle };
    expect(() => canonicalJson(cycle)).toThrow(/Circular/);
    const wrapper: { toJSON?: () => unknown } = {};
    wrapper.toJSON = () => ({ again: wrapper });
    expect(() => canonicalJson(wrapper)).toThrow(/Circular/);
    const shared = { x: [1] };
    expect(canonicalJson({ b: shared, a: shared })).toBe('{"a":{"x":[1]},"b":{"x":[1]}}');
  });

  it('sorts many keys by UTF-16 code units', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `k${(i * 7919) % 101}\u{1F600}é`);
    const object = Object.fromEntries(keys.map((key, i) => [key, i]));
    sameAsReference(object);
  });

  it('writes nesting deeper than the call stack as the reference does', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i += 1) deep = [deep];
    expect(canonicalJson(deep)).toBe(canonicalize(deep));
  });
});
