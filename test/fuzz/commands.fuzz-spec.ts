import fc from 'fast-check';
import { DTDP_2025 } from '../../src/programmes/domain/programme';
import { eligibleForm } from '../support/programme-fixtures';
import { enrolParticipant } from '../support/participants';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import type { Role } from '../../src/shared/principal';

/**
 * Fuzzing the input boundary: generated requests over every command (wrong types, missing and
 * unknown fields, huge and malformed strings, control characters, odd Unicode, bad dates, deep
 * nesting, odd path parameters and headers) against the running app. Whatever is sent:
 * no answer is 5xx, a refused request appends nothing (the log's head before and after), and
 * the read models are still ready at the end.
 *
 * FUZZ_RUNS (default 10,000 per store) and FUZZ_SEED (default 20261201) reproduce a run; a
 * failure prints the seed and the first failing requests.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const ROLLING = 'fuzz-rolling';
const TODAY = '2026-06-15T10:00:00+08:00';

/** The ids the fixture made, for path parameters that reach real state. */
type Fixture = {
  readonly participantId: string;
  readonly participantSub: string;
  readonly activityId: string;
  readonly applicationIds: readonly string[];
};

/** One command: its path template, a valid body, and the roles that may send it. */
type CommandCase = {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly roles: readonly Role[];
};

const reason = { reason: 'The certificate was for another event.' };
const COMMANDS: readonly CommandCase[] = [
  {
    path: '/v1/programmes',
    body: { ...DTDP_2025, programmeId: 'fuzz-defined' },
    roles: ['programme_admin'],
  },
  { path: '/v1/programmes/:programmeId/applications', body: eligibleForm, roles: ['applicant'] },
  {
    path: '/v1/applications/:applicationId/recommendation',
    body: { note: 'Strong record.' },
    roles: ['society_staff'],
  },
  {
    path: '/v1/applications/:applicationId/recommendation-withdrawal',
    body: reason,
    roles: ['society_staff'],
  },
  { path: '/v1/applications/:applicationId/decline', body: reason, roles: ['society_staff'] },
  {
    path: '/v1/applications/:applicationId/match',
    body: { mentoringSocietyCode: 'B33' },
    roles: ['programme_admin'],
  },
  {
    path: '/v1/applications/:applicationId/not-selected',
    body: reason,
    roles: ['programme_admin'],
  },
  {
    path: '/v1/applications/:applicationId/enrolment',
    body: { startDate: '2026-07-01' },
    roles: ['programme_admin'],
  },
  {
    path: '/v1/participants/:participantId/activities',
    body: {
      pillar: 'professional',
      category: 'international_conference',
      title: 'Rare earth separation workshop',
      occurredOn: '2026-03-14',
      endedOn: '2026-03-15',
      hours: 12,
      evidence: 'https://files.example.org/c/1.pdf',
    },
    roles: ['participant', 'society_staff'],
  },
  {
    path: '/v1/participants/:participantId/activities/:activityId/verification',
    body: {},
    roles: ['society_staff'],
  },
  {
    path: '/v1/participants/:participantId/activities/:activityId/rejection',
    body: reason,
    roles: ['society_staff'],
  },
  {
    path: '/v1/participants/:participantId/activities/:activityId/correction',
    body: { ...reason, hours: 10, pillar: 'professional', category: 'other_professional' },
    roles: ['participant', 'society_staff'],
  },
  {
    path: '/v1/participants/:participantId/activities/:activityId/retraction',
    body: reason,
    roles: ['participant', 'society_staff'],
  },
  {
    path: '/v1/participants/:participantId/reviews',
    body: { period: '2026-H1', rating: 'exceptional', note: 'Led the seminar.' },
    roles: ['society_staff'],
  },
  { path: '/v1/participants/:participantId/completion', body: {}, roles: ['society_staff'] },
  {
    path: '/v1/participants/:participantId/withdrawal',
    body: reason,
    roles: ['society_staff', 'participant'],
  },
  {
    path: '/v1/participants/:participantId/association-invitation',
    body: {},
    roles: ['programme_admin'],
  },
];

// ---- generators -------------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const control = fc
  .oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
  .map((c) => String.fromCharCode(c));
const oddUnicode = fc.constantFrom(
  'e\u0301',
  '\u202e',
  '\ufeff',
  '\u200b',
  '\ufffe',
  '\uffff',
  '𝕏',
  '👩🏽‍🔬',
  '\u0000',
  '\u2028',
  'İ',
  'ß',
);
const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.oneof(fc.string({ maxLength: 1 }), loneSurrogate, control, oddUnicode) }),
  fc.constantFrom(
    '',
    ' ',
    'x'.repeat(5000),
    'x'.repeat(300_000),
    '2026-02-30',
    '2026-11-99',
    '2099-99-99',
    '9999-12-31',
    '0000-01-01',
    '2026-03-14T10:00:00+08:00',
    "'; DROP TABLE events; --",
    '<script>alert(1)</script>',
    '../../etc/passwd',
    '%00',
    '__proto__',
    'B33',
    'professional',
    'exceptional',
  ),
);
const weirdNumber = fc.oneof(
  fc.double({ noNaN: true }),
  fc.integer(),
  fc.constantFrom(0, -1, 0.001, 24.005, 1e308, -1e308, 2 ** 53 + 1, 3000),
);
const deep = fc
  .integer({ min: 2, max: 60 })
  .map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown);
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: weirdString },
  { weight: 2, arbitrary: weirdNumber },
  fc.boolean(),
  fc.constant(null),
  fc.array(weirdString, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), weirdString, { maxKeys: 3 }),
  deep,
);

/** How a valid body is spoiled (or not: some requests stay valid and must be accepted). */
type Mutation =
  | { kind: 'none' }
  | { kind: 'set'; field: number; value: unknown }
  | { kind: 'drop'; field: number }
  | { kind: 'unknown'; name: string; value: unknown }
  | { kind: 'replace'; value: unknown }
  | { kind: 'raw'; text: string };

const rawBodies = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":1,}',
    'null',
    '[]',
    '"x"',
    '42',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    `{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    '{"title":"\\ud800"}',
    '{"title":"\\u0000"}',
    '\u0000',
  ),
  fc.string({ unit: 'binary', maxLength: 50 }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Mutation>({ kind: 'none' }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      field: fc.nat(),
      value: weirdValue,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), field: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('unknown' as const),
      name: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor')),
      value: weirdValue,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), value: weirdValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('raw' as const), text: rawBodies }) },
);

/** Every UTF-8 byte as %XX (encodeURIComponent throws on a lone surrogate). */
function percentEncoded(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) => `%${byte.toString(16).padStart(2, '0')}`)
    .join('');
}

/** A path parameter: usually a real id, sometimes anything. */
const pathParameter = fc.oneof(
  { weight: 6, arbitrary: fc.constant<string | null>(null) },
  {
    weight: 2,
    arbitrary: weirdString.map((value) => (value === '' ? 'x' : percentEncoded(value))),
  },
  fc.constantFrom('..', '%2e%2e', '%00', '%ZZ', 'x'.repeat(2000), '%ED%A0%80', '%C0%80'),
);

const headerValue = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
  fc.constantFrom('', '"0"', '"999"', 'W/"1"', '*', 'x'.repeat(300), '\u00e9'),
);

const request = fc.record({
  command: fc.nat({ max: COMMANDS.length - 1 }),
  mutation,
  param: pathParameter,
  role: fc.oneof(
    { weight: 8, arbitrary: fc.constant<Role | null>(null) },
    fc.constantFrom<Role | null>('applicant', 'dashboard', 'auditor', 'society_staff'),
  ),
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    fc.constantFrom(
      'text/plain',
      'application/json; charset=latin1',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-8',
      '',
    ),
  ),
  // Usually absent (null), so that most requests reach validation and the domain.
  idempotencyKey: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, headerValue),
  ifMatch: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, headerValue),
  subOther: fc.boolean(),
  pick: fc.nat({ max: 1_000_000 }),
});
type Generated = typeof request extends fc.Arbitrary<infer T> ? T : never;

function bodyOf(base: Record<string, unknown>, m: Mutation): string | undefined {
  const fields = Object.keys(base);
  const body: Record<string, unknown> = { ...base };
  switch (m.kind) {
    case 'none':
      break;
    case 'set':
      if (fields.length > 0) body[fields[m.field % fields.length]!] = m.value;
      else body.unexpected = m.value;
      break;
    case 'drop':
      if (fields.length > 0) delete body[fields[m.field % fields.length]!];
      break;
    case 'unknown':
      // Built as text: an object literal would give __proto__ its special meaning.
      return JSON.stringify(body)
        .replace(/^\{/, `{${JSON.stringify(m.name)}:${JSON.stringify(m.value) ?? 'null'},`)
        .replace(/,}$/, '}');
    case 'replace':
      return JSON.stringify(m.value) ?? undefined;
    case 'raw':
      return m.text;
  }
  return JSON.stringify(body);
}

describe.each<StoreKind>(['sqlite', 'postgres'])('fuzzing every command (%s)', (kind) => {
  let t: TestApp;
  let fixture: Fixture;

  beforeAll(async () => {
    t = await startApp(await freshEnv(kind));
    const participantSub = 'student-fuzz';
    const participantId = await enrolParticipant(t, { sub: participantSub, today: TODAY });
    const post = async (url: string, headers: Record<string, string>, payload: unknown) =>
      t.request({
        method: 'POST',
        url,
        headers: { ...headers, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
    const admin = await t.auth('programme_admin');
    // Rolling admission, so applications sent today are accepted and reach the domain.
    const rolling = await post('/v1/programmes', admin, {
      ...DTDP_2025,
      programmeId: ROLLING,
      applicationDeadline: '2027-06-30',
    });
    expect(rolling.statusCode).toBe(201);
    const applicationIds: string[] = [];
    for (const sub of ['fuzz-a', 'fuzz-b', 'fuzz-c']) {
      const submitted = await post(
        `/v1/programmes/${ROLLING}/applications`,
        await t.auth('applicant', { sub }),
        eligibleForm,
      );
      expect(submitted.statusCode).toBe(201);
      applicationIds.push(submitted.json<{ applicationId: string }>().applicationId);
    }
    const logged = await post(
      `/v1/participants/${participantId}/activities`,
      await t.auth('participant', { sub: participantSub }),
      COMMANDS.find((c) => c.path.endsWith('/activities'))!.body,
    );
    expect(logged.statusCode).toBe(201);
    fixture = {
      participantId,
      participantSub,
      activityId: logged.json<{ activityId: string }>().activityId,
      applicationIds,
    };
  }, 60_000);

  afterAll(async () => {
    await t.close();
  });

  function urlOf(command: CommandCase, generated: Generated): string {
    return command.path.replace(/:(\w+)/g, (_match, name: string) => {
      if (generated.param !== null) return generated.param;
      switch (name) {
        case 'programmeId':
          return ROLLING;
        case 'applicationId':
          return fixture.applicationIds[generated.pick % fixture.applicationIds.length]!;
        case 'participantId':
          return fixture.participantId;
        case 'activityId':
          return fixture.activityId;
        default:
          throw new Error(`no fixture for :${name}`);
      }
    });
  }

  async function headersOf(command: CommandCase, generated: Generated) {
    const role = generated.role ?? command.roles[generated.pick % command.roles.length]!;
    const sub =
      role === 'participant' && !generated.subOther
        ? fixture.participantSub
        : role === 'applicant'
          ? `fuzz-applicant-${generated.pick}`
          : undefined;
    return {
      ...(await t.auth(role, {
        ...(sub ? { sub } : {}),
        ...(role === 'society_staff' ? { society: generated.subOther ? 'C01' : 'B33' } : {}),
      })),
      ...(generated.contentType ? { 'content-type': generated.contentType } : {}),
      ...(generated.idempotencyKey !== null ? { 'idempotency-key': generated.idempotencyKey } : {}),
      ...(generated.ifMatch !== null ? { 'if-match': generated.ifMatch } : {}),
    };
  }

  it(`answers ${RUNS} generated requests without a 5xx, and appends nothing when it refuses`, async () => {
    const samples = fc.sample(request, { numRuns: RUNS, seed: SEED });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (const generated of samples) {
      const command = COMMANDS[generated.command]!;
      const url = urlOf(command, generated);
      const payload = bodyOf(command.body, generated.mutation);
      let headers: Record<string, string>;
      try {
        headers = await headersOf(command, generated);
      } catch {
        continue; // A header value inject refuses to send never reaches the service.
      }
      const head = await t.store.headPosition();
      const response = await t.request({
        method: 'POST',
        url,
        headers,
        ...(payload === undefined ? {} : { payload }),
      });
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      const after = await t.store.headPosition();
      const problem =
        response.statusCode >= 500
          ? `${response.statusCode}`
          : response.statusCode >= 400 && after !== head
            ? `refused with ${response.statusCode} but appended ${after - head} event(s)`
            : response.statusCode >= 400 &&
                !String(response.headers['content-type']).startsWith('application/problem+json')
              ? `${response.statusCode} without problem+json`
              : null;
      if (problem)
        failures.push(
          `${problem}: POST ${url.slice(0, 120)} ${JSON.stringify({ ...headers, authorization: undefined }).slice(0, 200)} ${payload?.slice(0, 200)} → ${response.body.slice(0, 200)}`,
        );
    }
    // The read models took every accepted event and are ready.
    const head = await t.store.headPosition();
    const staff = await t.auth('society_staff', { society: 'B33' });
    const progress = await t.request({
      method: 'GET',
      url: `/v1/participants/${fixture.participantId}/progress?minPosition=${head}`,
      headers: staff,
    });
    const ready = await t.request({ method: 'GET', url: '/health/ready' });
    process.stdout.write(
      `fuzz (${kind}, seed ${SEED}, ${samples.length} requests): statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`,
    );
    expect({ seed: SEED, failures: failures.slice(0, 5), count: failures.length }).toEqual({
      seed: SEED,
      failures: [],
      count: 0,
    });
    expect(progress.statusCode).toBe(200);
    expect(ready.statusCode).toBe(200);
    // Many requests were valid: the suite reaches the domain, not only the validator.
    expect([...statuses].filter(([status]) => status < 300).length).toBeGreaterThan(0);
  }, 900_000);
});
