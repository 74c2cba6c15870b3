import { randomBytes } from 'node:crypto';
import { PersonalDataVault } from '../../src/event-sourcing';
import { loadConfig } from '../../src/config/app-config';
import { createEventStoreAdapter } from '../../src/stores/event-store.module';
import { READ_MODEL_STORE, type ReadModelStore } from '../../src/projections/read-model-store';
import { DTDP_2025 } from '../../src/programmes/domain/programme';
import { participantStream } from '../../src/participants/domain/participant';
import { eligibleForm } from '../support/programme-fixtures';
import { enrolParticipant } from '../support/participants';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';

const P = DTDP_2025.programmeId;
const TODAY = '2026-06-15T10:00:00+08:00';

/**
 * Nothing malformed enters the log: every refusal here is a 400 problem naming the
 * field, and the log's head does not move.
 */
describe.each<StoreKind>(['sqlite', 'postgres'])('the input boundary (%s)', (kind) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(await freshEnv(kind));
  });
  afterEach(async () => {
    await t.close();
  });

  const send = (
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    payload?: string,
  ) =>
    t.request({
      method,
      url,
      headers: { 'content-type': 'application/json', ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
  const staff = () => t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
  const activity = {
    pillar: 'professional',
    category: 'international_conference',
    title: 'Rare earth separation workshop',
    occurredOn: '2026-03-14',
    hours: 6,
  };

  /** Sends `payload` and expects 400 naming `fields`, with nothing appended. */
  async function refused(url: string, payload: string, fields: string[], code?: string) {
    const head = await t.store.headPosition();
    const response = await send('POST', url, await staff(), payload);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const problem = response.json<{ code: string; errors?: Array<{ field: string }> }>();
    if (code) expect(problem.code).toBe(code);
    for (const field of fields)
      expect(problem.errors?.map((error) => error.field)).toContain(field);
    expect(await t.store.headPosition()).toBe(head);
    return problem;
  }

  it('refuses C0 controls, DEL/C1 controls and lone surrogates in any string, naming each field', async () => {
    const id = await enrolParticipant(t, { today: TODAY });
    const url = `/v1/participants/${id}/activities`;
    // JSON escapes, so the bytes on the wire are exactly what a client could send.
    for (const bad of [
      'x\\u0000y',
      'x\\u0007',
      'x\\u001b[31m',
      'x\\u007f',
      'x\\u0085',
      '\\ud800x',
    ]) {
      await refused(
        url,
        `{"pillar":"professional","category":"international_conference","title":"${bad}","occurredOn":"2026-03-14","hours":6,"evidence":"${bad}"}`,
        ['title', 'evidence'],
      );
    }
    // A lone surrogate in a field the DTO does not know is refused as malformed, not ignored.
    await refused(url, JSON.stringify(activity).replace('}', ',"x\\udc00":1}'), []);
  });

  it('keeps tab and line breaks in multi-line texts only', async () => {
    const id = await enrolParticipant(t, { today: TODAY });
    await refused(
      `/v1/participants/${id}/activities`,
      JSON.stringify({ ...activity, title: 'two\nlines' }),
      ['title'],
    );
    await refused(
      `/v1/participants/${id}/activities`,
      JSON.stringify({ ...activity, title: 'a\ttab' }),
      ['title'],
    );
    await refused(
      `/v1/participants/${id}/activities`,
      JSON.stringify({ ...activity, title: 'line\u2028separator' }),
      ['title'],
    );
    const logged = await send(
      'POST',
      `/v1/participants/${id}/activities`,
      await staff(),
      JSON.stringify({ ...activity, evidence: 'Certificate no. 12\r\nSigned by the chair\tp. 2' }),
    );
    expect(logged.statusCode).toBe(201);
    // A carriage return alone is not a line break.
    await refused(
      `/v1/participants/${id}/withdrawal`,
      JSON.stringify({ reason: 'moved\rabroad' }),
      ['reason'],
    );
  });

  it('stores text NFC-normalised', async () => {
    const decomposed = 'Zoe\u0308 Ma\u0301rquez'; // e + combining diaeresis, a + combining acute
    const submitted = await send(
      'POST',
      `/v1/programmes/${P}/applications`,
      await t.auth('applicant', { sub: 'student-nfc' }),
      JSON.stringify({ ...eligibleForm, fullName: decomposed }),
    );
    expect(submitted.statusCode).toBe(201);
    const [event] = await t.store.readAll((await t.store.headPosition()) - 1, 1);
    // Stored sealed; what was sealed is the normalised text.
    const { fullName } = await t.app.get(PersonalDataVault).unseal(event!.data);
    expect(fullName).toBe('Zoë Márquez');
    expect(fullName).toBe(decomposed.normalize('NFC'));
  });

  it.each([
    ['2026-11-99'],
    ['2026-02-30'],
    ['2026-11-31'],
    ['2099-99-99'],
    ['2026-3-14'],
    ['20260314'],
  ])('refuses the impossible date %s, naming the field', async (date) => {
    const id = await enrolParticipant(t, { today: TODAY });
    await refused(
      `/v1/participants/${id}/activities`,
      JSON.stringify({ ...activity, endedOn: date, hours: 3000 }),
      ['endedOn'],
    );
    await refused(
      `/v1/participants/${id}/activities`,
      JSON.stringify({ ...activity, occurredOn: date }),
      ['occurredOn'],
    );
  });

  it('refuses impossible dates and loose instants in queries', async () => {
    const id = await enrolParticipant(t, { today: TODAY });
    const headers = await staff();
    for (const query of [
      'asOf=2026-02-30',
      'asOf=2026-13-01',
      'knownAt=2026-07-15T08:00:00',
      'knownAt=2026-07-15T25:00:00%2B08:00',
      'knownAt=2026-02-30T08:00:00Z',
      'knownAt=2026-07-15',
    ]) {
      const response = await send('GET', `/v1/participants/${id}/progress?${query}`, headers);
      expect(response.statusCode).toBe(400);
      expect(response.json<{ errors: Array<{ field: string }> }>().errors[0]!.field).toBe(
        query.split('=')[0],
      );
    }
  });

  it('refuses bodies that attack the parser: deep nesting, __proto__, constructor.prototype', async () => {
    const id = await enrolParticipant(t, { today: TODAY });
    const url = `/v1/participants/${id}/activities`;
    const deep = `{"title":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    for (const payload of [
      deep,
      JSON.stringify(activity).replace('{', '{"__proto__":{"admin":true},'),
      JSON.stringify(activity).replace('{', '{"constructor":{"prototype":{"admin":true}},'),
    ]) {
      const head = await t.store.headPosition();
      const response = await send('POST', url, await staff(), payload);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
      expect(await t.store.headPosition()).toBe(head);
    }
  });

  it('answers a malformed body sent with an Idempotency-Key with 400, and the key stays usable', async () => {
    const id = await enrolParticipant(t, { today: TODAY });
    const url = `/v1/participants/${id}/activities`;
    const headers = { ...(await staff()), 'idempotency-key': 'import-42' };
    const bad = await send(
      'POST',
      url,
      headers,
      JSON.stringify(activity).replace('"Rare', '"\\ud800Rare'),
    );
    expect(bad.statusCode).toBe(400);
    const good = await send('POST', url, headers, JSON.stringify(activity));
    expect(good.statusCode).toBe(201);
  });

  it('refuses path and query parameters with control characters before they reach a store', async () => {
    const headers = await staff();
    for (const url of [
      '/v1/participants/p%00x/progress',
      '/v1/applications/a%0Ab',
      `/v1/programmes/${P}/applications?status=%00`,
      `/v1/participants/x/timeline?cursor=%01`,
    ]) {
      const response = await send('GET', url, headers);
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('refuses a cursor the service never issued with 400 INVALID_CURSOR on every list', async () => {
    const id = await enrolParticipant(t, { today: TODAY });
    const forged = [
      Buffer.from('[{},"k"]').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('"x"').toString('base64url'),
      'not-base64-$$$',
    ];
    const lists = [
      ['programme_admin', '/v1/programmes'],
      ['programme_admin', `/v1/programmes/${P}/applications`],
      ['programme_admin', `/v1/programmes/${P}/participants`],
      ['programme_admin', `/v1/participants/${id}/timeline`],
      ['programme_admin', `/v1/participants/${id}/timeline?asOf=2026-06-01`],
      ['auditor', '/v1/audit/events'],
      ['auditor', `/v1/audit/streams/${participantStream(id)}`],
    ] as const;
    for (const [role, url] of lists) {
      for (const cursor of forged) {
        const response = await send(
          'GET',
          `${url}${url.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`,
          await t.auth(role),
        );
        expect([url, cursor, response.statusCode]).toEqual([url, cursor, 400]);
        expect(response.json()).toMatchObject({
          code: expect.stringMatching(/INVALID_CURSOR|VALIDATION_FAILED/),
        });
      }
    }
  });

  describe('one application per student and programme', () => {
    it('answers a second application 409 with the first one’s id', async () => {
      const headers = await t.auth('applicant', { sub: 'student-twice' });
      const url = `/v1/programmes/${P}/applications`;
      const first = await send('POST', url, headers, JSON.stringify(eligibleForm));
      expect(first.statusCode).toBe(201);
      const { applicationId } = first.json<{ applicationId: string }>();
      const head = await t.store.headPosition();
      const second = await send(
        'POST',
        url,
        headers,
        JSON.stringify({ ...eligibleForm, researchField: 'magnet materials' }),
      );
      expect(second.statusCode).toBe(409);
      expect(second.json()).toMatchObject({ code: 'APPLICATION_EXISTS', applicationId });
      expect(await t.store.headPosition()).toBe(head);
      // Another student still applies.
      const other = await send(
        'POST',
        url,
        await t.auth('applicant', { sub: 'student-other' }),
        JSON.stringify(eligibleForm),
      );
      expect(other.statusCode).toBe(201);
    });

    it('holds under 8 concurrent submissions by one student: one 201, seven 409', async () => {
      const headers = await t.auth('applicant', { sub: 'student-storm' });
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          send('POST', `/v1/programmes/${P}/applications`, headers, JSON.stringify(eligibleForm)),
        ),
      );
      const statuses = answers.map((answer) => answer.statusCode).sort();
      expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
      const created = answers.find((answer) => answer.statusCode === 201)!;
      const { applicationId } = created.json<{ applicationId: string }>();
      for (const answer of answers.filter((a) => a.statusCode === 409))
        expect(answer.json()).toMatchObject({ code: 'APPLICATION_EXISTS', applicationId });
      const events = await t.store.readAll(0, 1000);
      expect(events.filter((event) => event.type === 'ApplicationSubmitted')).toHaveLength(1);
    });
  });

  describe('docs/API.md conventions: paging and minPosition on every list', () => {
    it('pages GET /v1/programmes with limit and cursor', async () => {
      const admin = await t.auth('programme_admin');
      const second = {
        ...DTDP_2025,
        programmeId: 'cast-dtdp-2026',
        applicationDeadline: '2026-11-17',
        startDate: '2027-01-01',
      };
      const defined = await send('POST', '/v1/programmes', admin, JSON.stringify(second));
      expect(defined.statusCode).toBe(201);
      const { position } = defined.json<{ position: number }>();
      const first = await send('GET', `/v1/programmes?limit=1&minPosition=${position}`, admin);
      expect(first.statusCode).toBe(200);
      const page = first.json<{ items: Array<{ programmeId: string }>; nextCursor: string }>();
      expect(page.items.map((item) => item.programmeId)).toEqual(['cast-dtdp-2025']);
      const next = await send('GET', `/v1/programmes?limit=1&cursor=${page.nextCursor}`, admin);
      expect(next.json()).toMatchObject({
        items: [{ programmeId: 'cast-dtdp-2026' }],
        nextCursor: null,
      });
    });

    it('accepts minPosition on the audit routes: at once when the log holds it, 503 when it never comes', async () => {
      const auditor = await t.auth('auditor');
      const head = await t.store.headPosition();
      for (const url of ['/v1/audit/events', `/v1/audit/streams/programme-${P}`]) {
        const response = await send('GET', `${url}?minPosition=${head}`, auditor);
        expect(response.statusCode).toBe(200);
      }
      const beyond = await send('GET', `/v1/audit/events?minPosition=${head + 1000}`, auditor);
      expect(beyond.statusCode).toBe(503);
      expect(beyond.headers['retry-after']).toBeDefined();
      expect(beyond.json()).toMatchObject({ code: 'NOT_YET_RECORDED' });
    }, 15_000);

    it('pages the audit log by cursor too', async () => {
      await enrolParticipant(t, { today: TODAY });
      const auditor = await t.auth('auditor');
      const first = (await send('GET', '/v1/audit/events?limit=1', auditor)).json<{
        items: Array<{ position: number }>;
        nextCursor: string;
      }>();
      const next = (
        await send('GET', `/v1/audit/events?limit=1&cursor=${first.nextCursor}`, auditor)
      ).json<{ items: Array<{ position: number }> }>();
      expect(next.items[0]!.position).toBe(first.items[0]!.position + 1);
    });

    it('allows rolling admission: a deadline after the start, before the window ends', async () => {
      const rolling = {
        ...DTDP_2025,
        programmeId: 'rolling-2026',
        startDate: '2026-01-01',
        applicationDeadline: '2026-09-30',
      };
      const admin = await t.auth('programme_admin');
      expect(
        (await send('POST', '/v1/programmes', admin, JSON.stringify(rolling))).statusCode,
      ).toBe(201);
      const late = await send(
        'POST',
        '/v1/programmes',
        admin,
        JSON.stringify({ ...rolling, programmeId: 'too-late', applicationDeadline: '2028-01-01' }),
      );
      expect(late.statusCode).toBe(400);
      expect(late.json()).toMatchObject({ code: 'DEADLINE_AFTER_WINDOW' });
    });
  });
});

/**
 * A NUL already in a log (stored by an older version, before the boundary refused it) must not
 * stop PostgreSQL read models, whose jsonb refuses `\u0000`.
 */
describe('an event with a NUL already in the log (postgres read models)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(await freshEnv('postgres'));
  });
  afterEach(async () => {
    await t.close();
  });

  it('is projected, and the read models go on with later events', async () => {
    const id = await enrolParticipant(t, { today: TODAY });
    const stream = participantStream(id);
    const revision = (await t.store.readStream(stream)).length - 1;
    // Written as a log from before personal data was sealed holds it: plain, through the adapter.
    const legacy = createEventStoreAdapter(loadConfig(t.env));
    await legacy.append(
      stream,
      ['x\u0000y'].map((title, index) => ({
        type: 'ActivityLogged',
        data: {
          participantId: id,
          activityId: `legacy-${index}`,
          pillar: 'professional',
          category: 'other_professional',
          title,
          occurredOn: '2026-03-01',
          endedOn: null,
          hours: 4,
          evidence: null,
        },
        metadata: {
          actor: { sub: 'staff-B33', role: 'society_staff' },
          correlationId: 'legacy',
          causationId: null,
          schemaVersion: 1,
        },
      })),
      { expectedRevision: revision },
    );
    await legacy.close();
    const staff = await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
    const later = await t.request({
      method: 'POST',
      url: `/v1/participants/${id}/activities`,
      headers: { ...staff, 'content-type': 'application/json' },
      payload: JSON.stringify({
        pillar: 'social',
        category: 'other_social',
        title: 'after the NUL',
        occurredOn: '2026-03-02',
        hours: 2,
      }),
    });
    expect(later.statusCode).toBe(201);
    const { position } = later.json<{ position: number }>();
    const progress = await t.request({
      method: 'GET',
      url: `/v1/participants/${id}/progress?minPosition=${position}`,
      headers: staff,
    });
    expect(progress.statusCode).toBe(200);
    expect(progress.json()).toMatchObject({ pendingHours: 6 });
    const timeline = await t.request({
      method: 'GET',
      url: `/v1/participants/${id}/timeline?minPosition=${position}&limit=50`,
      headers: staff,
    });
    const titles = timeline
      .json<{ items: Array<{ data: { title?: string } }> }>()
      .items.map((item) => item.data.title);
    // The timeline serves event data from the log itself (it stores references), so the title is
    // the log's own text, NUL included; only the jsonb read models replace it.
    expect(titles).toEqual(expect.arrayContaining(['x\u0000y', 'after the NUL']));
    expect((await t.request({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });
});

/**
 * An event whose documents a read-model store refuses must not stop the projection. Here a
 * programme id longer than a PostgreSQL index entry may be (about 2.7 kB), stored by an older
 * version that had no length limit: the programmes read model cannot key a document by it. (A
 * NUL, the known case, no longer gets that far: the store writes it as U+FFFD, see above.) The
 * event becomes a dead letter; readiness stays 200 but says `degraded`, across a restart, and
 * the metrics count it.
 */
describe('an event the PostgreSQL read models refuse, already in the log', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('is set aside as a dead letter; the read models go on, ready but degraded', async () => {
    t = await startApp(await freshEnv('postgres'));
    const id = await enrolParticipant(t, { today: TODAY });
    const legacy = createEventStoreAdapter(loadConfig(t.env));
    try {
      await legacy.append(
        'programme-legacy',
        [
          {
            type: 'ProgrammeDefined',
            // Random, so that PostgreSQL cannot compress the index entry below its limit.
            data: { programmeId: randomBytes(4500).toString('base64'), name: 'legacy' },
            metadata: {
              actor: { sub: 'admin-1', role: 'programme_admin' },
              correlationId: 'legacy',
              causationId: null,
              schemaVersion: 1,
            },
          },
        ],
        { expectedRevision: 'no_stream' },
      );
    } finally {
      await legacy.close();
    }
    const staff = await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
    const logLater = async (title: string) => {
      const response = await t!.request({
        method: 'POST',
        url: `/v1/participants/${id}/activities`,
        headers: { ...staff, 'content-type': 'application/json' },
        payload: JSON.stringify({
          pillar: 'social',
          category: 'other_social',
          title,
          occurredOn: '2026-03-02',
          hours: 2,
        }),
      });
      expect(response.statusCode).toBe(201);
      return response.json<{ position: number }>().position;
    };
    // minPosition waits until every read model has passed the position: none is stuck.
    const progressUpTo = async (position: number) => {
      const progress = await t!.request({
        method: 'GET',
        url: `/v1/participants/${id}/progress?minPosition=${position}`,
        headers: staff,
      });
      expect(progress.statusCode).toBe(200);
      return progress.json<{ pendingHours: number }>().pendingHours;
    };
    const expectDegraded = async (app: TestApp, position: number) => {
      const anonymous = await app.request({ method: 'GET', url: '/health/ready' });
      expect(anonymous.statusCode).toBe(200);
      expect(anonymous.json()).toEqual({ status: 'degraded' });
      const detailed = await app.request({
        method: 'GET',
        url: '/health/ready',
        headers: await app.auth('auditor'),
      });
      expect(detailed.statusCode).toBe(200);
      expect(detailed.json()).toMatchObject({
        status: 'degraded',
        details: {
          eventStore: { status: 'up' },
          projections: {
            status: 'degraded',
            deadLetters: 1,
            readModels: {
              programmes: { deadLetters: 1, position: expect.any(Number) },
              progress: { deadLetters: 0 },
            },
          },
        },
      });
      expect(
        detailed.json<{
          details: { projections: { readModels: { programmes: { position: number } } } };
        }>().details.projections.readModels.programmes.position,
      ).toBeGreaterThanOrEqual(position);
    };

    const position = await logLater('after the refused one');
    expect(await progressUpTo(position)).toBe(2);
    expect(await t.app.get<ReadModelStore>(READ_MODEL_STORE).deadLetters()).toEqual([
      expect.objectContaining({
        projection: 'programmes',
        streamName: 'programme-legacy',
        error: expect.stringMatching(/^read-model store refused: 54000 index row size/),
      }),
    ]);
    await expectDegraded(t, position);
    const metrics = await t.request({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('projection_dead_letters{projection="programmes"} 1');
    expect(metrics.body).toContain('projection_dead_letters{projection="timeline"} 0');
    expect(metrics.body).toMatch(/^projections_failed 0$/m);

    // A restart does not make it 503: the dead letter is behind the checkpoint.
    await t.close(false);
    t = await startApp(t.env, t.clock);
    const later = await logLater('after the restart');
    expect(await progressUpTo(later)).toBe(4);
    await expectDegraded(t, later);
  });
});
