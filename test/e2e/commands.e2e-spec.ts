import { PersonalDataVault } from '../../src/event-sourcing';
import { DTDP_2025 } from '../../src/programmes/domain/programme';
import { selectionStream } from '../../src/applications/domain/selection';
import { participantStream } from '../../src/participants/domain/participant';
import { eligibleForm } from '../support/programme-fixtures';
import { enrolParticipant } from '../support/participants';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';

const P = DTDP_2025.programmeId;

describe.each<StoreKind>(['sqlite', 'postgres'])('commands over HTTP (%s)', (kind) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(await freshEnv(kind));
  });
  afterEach(async () => {
    await t.close();
  });

  const post = async (url: string, headers: Record<string, string>, payload?: unknown) =>
    t.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });

  async function submit(
    sub = 'student-1',
    form: Partial<typeof eligibleForm> = {},
  ): Promise<string> {
    const response = await post(
      `/v1/programmes/${P}/applications`,
      await t.auth('applicant', { sub }),
      { ...eligibleForm, ...form },
    );
    expect(response.statusCode).toBe(201);
    return response.json<{ applicationId: string }>().applicationId;
  }
  const staff = (society = 'B33') => t.auth('society_staff', { society, sub: `staff-${society}` });
  const admin = () => t.auth('programme_admin');

  /** An application taken all the way to an enrolled participant starting 2026-01-01. */
  const enrolledParticipant = (sub = 'student-1') =>
    enrolParticipant(t, { sub, today: '2026-06-15T10:00:00+08:00' });

  describe('authentication and roles', () => {
    it('401 without a token, with a malformed one, or with one signed by someone else', async () => {
      for (const headers of [
        {},
        { authorization: 'Bearer not.a.token' },
        { authorization: 'Basic abc' },
      ] as Record<string, string>[]) {
        const response = await post(`/v1/programmes/${P}/applications`, headers, eligibleForm);
        expect(response.statusCode).toBe(401);
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(response.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
      }
    });

    it('403 for a role that may not do it, and nothing is appended', async () => {
      const before = await t.store.readAll(0, 1000);
      const response = await post(`/v1/programmes/${P}/applications`, await staff(), eligibleForm);
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ code: 'FORBIDDEN', title: 'Forbidden' });
      expect(await t.store.readAll(0, 1000)).toEqual(before);
    });

    it('health and docs need no token', async () => {
      expect((await t.request({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
      const docs = await t.request({ method: 'GET', url: '/docs-json' });
      expect(docs.statusCode).toBe(200);
      const paths = Object.keys(docs.json<{ paths: Record<string, unknown> }>().paths);
      expect(paths).toEqual(
        expect.arrayContaining([
          '/v1/programmes',
          '/v1/participants/{participantId}/association-invitation',
        ]),
      );
    });
  });

  describe('programmes', () => {
    it('the 2025 programme is defined on first start; defining it again is a 200 no-op; other rules are 409', async () => {
      const stream = await t.store.readStream(`programme-${P}`);
      expect(stream.map((event) => event.type)).toEqual(['ProgrammeDefined']);
      const again = await post('/v1/programmes', await admin(), DTDP_2025);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ programmeId: P, created: false, position: null });
      const other = await post('/v1/programmes', await admin(), {
        ...DTDP_2025,
        requiredHours: 200,
      });
      expect(other.statusCode).toBe(409);
      expect(other.json()).toMatchObject({ code: 'PROGRAMME_ALREADY_DEFINED' });
    });

    it('a new programme is 201 with the position of its event', async () => {
      const response = await post('/v1/programmes', await admin(), {
        ...DTDP_2025,
        programmeId: 'cast-dtdp-2026',
        applicationDeadline: '2026-11-17',
        startDate: '2027-01-01',
      });
      expect(response.statusCode).toBe(201);
      expect(response.json<{ position: number }>().position).toBeGreaterThan(0);
    });

    it('400 names every bad field, unknown ones included, and appends nothing', async () => {
      const before = await t.store.readAll(0, 1000);
      const response = await post('/v1/programmes', await admin(), {
        ...DTDP_2025,
        programmeId: 'Bad Id',
        recommendationQuota: 0,
        enrolmentTypes: ['evening'],
        societies: [{ code: 'b33', name: '' }],
        surprise: true,
      });
      expect(response.statusCode).toBe(400);
      const fields = response
        .json<{ errors: { field: string }[] }>()
        .errors.map((error) => error.field);
      expect(new Set(fields)).toEqual(
        new Set([
          'programmeId',
          'recommendationQuota',
          'enrolmentTypes',
          'societies[0].code',
          'societies[0].name',
          'surprise',
        ]),
      );
      expect(await t.store.readAll(0, 1000)).toEqual(before);
    });

    it('400 for malformed JSON', async () => {
      const response = await t.request({
        method: 'POST',
        url: '/v1/programmes',
        headers: { 'content-type': 'application/json', ...(await admin()) },
        payload: '{"programmeId": ',
      });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
    });
  });

  describe('applications', () => {
    it('201 with the application id, its eligibility with every rule, and a position', async () => {
      const response = await post(
        `/v1/programmes/${P}/applications`,
        await t.auth('applicant'),
        eligibleForm,
      );
      expect(response.statusCode).toBe(201);
      const body = response.json<{
        applicationId: string;
        eligibility: { eligible: boolean; checks: { rule: string }[] };
        position: number;
      }>();
      expect(body.eligibility.eligible).toBe(true);
      expect(body.eligibility.checks.map((check) => check.rule)).toEqual([
        'deadline',
        'nationality',
        'enrolmentType',
        'degreeLevel',
        'remainingStudy',
        'society',
      ]);
      const [event] = await t.store.readStream(`application-${body.applicationId}`);
      expect(event).toMatchObject({
        type: 'ApplicationSubmitted',
        position: body.position,
        // The student is in the log by pseudonym only.
        metadata: {
          actor: { sub: t.app.get(PersonalDataVault).pseudonym('applicant-1'), role: 'applicant' },
        },
      });
    });

    it('records an ineligible application with its reasons', async () => {
      const response = await post(`/v1/programmes/${P}/applications`, await t.auth('applicant'), {
        ...eligibleForm,
        enrolmentType: 'part_time',
      });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({
        eligibility: {
          eligible: false,
          checks: expect.arrayContaining([
            {
              rule: 'enrolmentType',
              passed: false,
              detail: 'enrolment part_time; eligible: full_time',
            },
          ]),
        },
      });
    });

    it('on time at 2025-11-17T23:59:59+08:00, 422 DEADLINE_PASSED at 2025-11-18T00:00:00+08:00', async () => {
      t.clock.set('2025-11-17T23:59:59+08:00');
      expect(
        (await post(`/v1/programmes/${P}/applications`, await t.auth('applicant'), eligibleForm))
          .statusCode,
      ).toBe(201);
      t.clock.set('2025-11-18T00:00:00+08:00');
      const late = await post(
        `/v1/programmes/${P}/applications`,
        await t.auth('applicant', { sub: 'student-late' }),
        eligibleForm,
      );
      expect(late.statusCode).toBe(422);
      expect(late.json()).toMatchObject({
        code: 'DEADLINE_PASSED',
        deadline: '2025-11-17',
        submittedOn: '2025-11-18',
      });
    });

    it('404 for an unknown programme; 422 for a society outside it; 400 listing every bad field', async () => {
      expect(
        (await post('/v1/programmes/nope/applications', await t.auth('applicant'), eligibleForm))
          .statusCode,
      ).toBe(404);
      expect(
        (
          await post(`/v1/programmes/${P}/applications`, await t.auth('applicant'), {
            ...eligibleForm,
            preferredSocietyCode: 'Z99',
          })
        ).json(),
      ).toMatchObject({
        status: 422,
        code: 'SOCIETY_NOT_PARTICIPATING',
      });
      const bad = await post(`/v1/programmes/${P}/applications`, await t.auth('applicant'), {
        fullName: '',
        nationality: 'China',
        enrolmentType: 'full_time',
      });
      expect(bad.statusCode).toBe(400);
      expect(
        bad.json<{ errors: { field: string }[] }>().errors.map((error) => error.field),
      ).toEqual(
        expect.arrayContaining([
          'fullName',
          'nationality',
          'degreeLevel',
          'institution',
          'expectedGraduationDate',
          'researchField',
          'preferredSocietyCode',
        ]),
      );
    });
  });

  describe('recommendation', () => {
    it('at most 3 live recommendations per society, also when 50 requests arrive at once', async () => {
      const applications: string[] = [];
      for (let i = 0; i < 50; i += 1) applications.push(await submit(`student-${i}`));
      const headers = await staff();
      const responses = await Promise.all(
        applications.map((id) =>
          post(`/v1/applications/${id}/recommendation`, headers, { note: 'strong' }),
        ),
      );
      const statuses = responses.map((response) => response.statusCode);
      expect(statuses.filter((status) => status === 200)).toHaveLength(3);
      expect(statuses.filter((status) => status === 409)).toHaveLength(47);
      const events = await t.store.readStream(selectionStream(P, 'B33'));
      expect(events.filter((event) => event.type === 'CandidateRecommended')).toHaveLength(3);
    }, 60_000);

    it('withdrawal frees a slot; a fourth recommendation is 409 QUOTA_REACHED until then', async () => {
      const [a, b, c, d] = [
        await submit('s-a'),
        await submit('s-b'),
        await submit('s-c'),
        await submit('s-d'),
      ];
      for (const id of [a, b, c])
        expect(
          (await post(`/v1/applications/${id}/recommendation`, await staff(), {})).statusCode,
        ).toBe(200);
      const full = await post(`/v1/applications/${d}/recommendation`, await staff(), {});
      expect(full.statusCode).toBe(409);
      expect(full.json()).toMatchObject({ code: 'QUOTA_REACHED', quota: 3 });
      expect(
        (
          await post(`/v1/applications/${b}/recommendation-withdrawal`, await staff(), {
            reason: 'moved abroad',
          })
        ).statusCode,
      ).toBe(200);
      expect(
        (await post(`/v1/applications/${d}/recommendation`, await staff(), {})).statusCode,
      ).toBe(200);
    });

    it('422 for an ineligible application; 409 for a declined one; decline needs a reason', async () => {
      const ineligible = await submit('s-x', { nationality: 'US' });
      expect(
        (await post(`/v1/applications/${ineligible}/recommendation`, await staff(), {})).json(),
      ).toMatchObject({ status: 422, code: 'NOT_ELIGIBLE' });
      const declined = await submit('s-y');
      expect(
        (await post(`/v1/applications/${declined}/decline`, await staff(), {})).statusCode,
      ).toBe(400);
      expect(
        (
          await post(`/v1/applications/${declined}/decline`, await staff(), {
            reason: 'out of scope',
          })
        ).statusCode,
      ).toBe(200);
      expect(
        (await post(`/v1/applications/${declined}/recommendation`, await staff(), {})).json(),
      ).toMatchObject({ status: 409, code: 'ALREADY_DECIDED' });
    });

    it("staff of another society get 404 for this society's applications, which are not revealed", async () => {
      const id = await submit();
      const response = await post(`/v1/applications/${id}/recommendation`, await staff('A01'), {});
      expect(response.statusCode).toBe(404);
      const unknown = await post(
        '/v1/applications/01234567-89ab-7def-8123-456789abcdef/recommendation',
        await staff('A01'),
        {},
      );
      expect(response.json()).toEqual({
        ...unknown.json(),
        detail: response.json<{ detail: string }>().detail,
      });
      expect(await t.store.readStream(selectionStream(P, 'B33')).catch(() => [])).toEqual([]);
    });
  });

  describe('matching and enrolment in order', () => {
    it('409 for matching, not-selecting or enrolling out of order; 201 with the participant id in order', async () => {
      const id = await submit();
      expect(
        (
          await post(`/v1/applications/${id}/match`, await admin(), { mentoringSocietyCode: 'B33' })
        ).json(),
      ).toMatchObject({ status: 409, code: 'WRONG_STAGE' });
      expect(
        (await post(`/v1/applications/${id}/not-selected`, await admin(), { reason: 'x' }))
          .statusCode,
      ).toBe(409);
      expect(
        (await post(`/v1/applications/${id}/enrolment`, await admin(), { startDate: '2026-01-01' }))
          .statusCode,
      ).toBe(409);
      expect(
        (await post(`/v1/applications/${id}/recommendation`, await staff(), {})).statusCode,
      ).toBe(200);
      expect(
        (await post(`/v1/applications/${id}/enrolment`, await admin(), { startDate: '2026-01-01' }))
          .statusCode,
      ).toBe(409);
      expect(
        (await post(`/v1/applications/${id}/match`, await admin(), { mentoringSocietyCode: 'Z99' }))
          .statusCode,
      ).toBe(422);
      expect(
        (await post(`/v1/applications/${id}/match`, await admin(), { mentoringSocietyCode: 'B33' }))
          .statusCode,
      ).toBe(200);
      expect(
        (
          await post(`/v1/applications/${id}/recommendation-withdrawal`, await staff(), {
            reason: 'x',
          })
        ).statusCode,
      ).toBe(409);
      const enrolled = await post(`/v1/applications/${id}/enrolment`, await admin(), {
        startDate: '2026-01-01',
      });
      expect(enrolled.statusCode).toBe(201);
      const { participantId } = enrolled.json<{ participantId: string }>();
      expect(
        (
          await post(`/v1/applications/${id}/enrolment`, await admin(), { startDate: '2026-01-01' })
        ).json(),
      ).toMatchObject({ status: 409, code: 'ALREADY_ENROLLED' });
      const [event] = await t.store.readStream(participantStream(participantId));
      expect(event!.data).toMatchObject({
        startDate: '2026-01-01',
        windowEnd: '2028-01-01',
        societyCode: 'B33',
        subjectRef: t.app.get(PersonalDataVault).pseudonym('student-1'),
      });
    });

    it('a not-selected candidate cannot be enrolled', async () => {
      const id = await submit();
      await post(`/v1/applications/${id}/recommendation`, await staff(), {});
      expect(
        (
          await post(`/v1/applications/${id}/not-selected`, await admin(), {
            reason: 'places filled',
          })
        ).statusCode,
      ).toBe(200);
      expect(
        (await post(`/v1/applications/${id}/enrolment`, await admin(), { startDate: '2026-01-01' }))
          .statusCode,
      ).toBe(409);
    });
  });

  describe('activities, reviews, completion, withdrawal, invitation', () => {
    const activity = {
      pillar: 'professional',
      category: 'international_conference',
      title: 'Rare Earth Conference',
      occurredOn: '2026-03-14',
      hours: 8,
    };

    it('the participant (self) and their staff log; another student and other staff get 404; wrong role 403', async () => {
      const participantId = await enrolledParticipant();
      const own = await post(
        `/v1/participants/${participantId}/activities`,
        await t.auth('participant', { sub: 'student-1' }),
        activity,
      );
      expect(own.statusCode).toBe(201);
      expect(own.json()).toEqual({
        activityId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        position: expect.any(Number),
      });
      expect(own.headers.etag).toBe('"1"');
      expect(
        (await post(`/v1/participants/${participantId}/activities`, await staff(), activity))
          .statusCode,
      ).toBe(201);
      expect(
        (
          await post(
            `/v1/participants/${participantId}/activities`,
            await t.auth('participant', { sub: 'student-2' }),
            activity,
          )
        ).statusCode,
      ).toBe(404);
      expect(
        (await post(`/v1/participants/${participantId}/activities`, await staff('A01'), activity))
          .statusCode,
      ).toBe(404);
      expect(
        (await post(`/v1/participants/${participantId}/activities`, await admin(), activity))
          .statusCode,
      ).toBe(403);
    });

    it.each([
      [{ category: 'journal_assistant' }, 'CATEGORY_NOT_IN_PILLAR'],
      [{ hours: 25 }, 'HOURS_OUT_OF_RANGE'],
      [{ occurredOn: '2025-12-31' }, 'OUTSIDE_WINDOW'],
      [{ occurredOn: '2026-06-16' }, 'IN_FUTURE'],
    ])('422 for %j (%s), and nothing is appended', async (change, code) => {
      const participantId = await enrolledParticipant();
      const before = await t.store.readStream(participantStream(participantId));
      const response = await post(
        `/v1/participants/${participantId}/activities`,
        await t.auth('participant', { sub: 'student-1' }),
        { ...activity, ...change },
      );
      expect(response.json()).toMatchObject({ status: 422, code });
      expect(await t.store.readStream(participantStream(participantId))).toHaveLength(
        before.length,
      );
    });

    it('400 for hours <= 0 or a bad pillar, naming the fields', async () => {
      const participantId = await enrolledParticipant();
      const response = await post(`/v1/participants/${participantId}/activities`, await staff(), {
        ...activity,
        hours: 0,
        pillar: 'sports',
      });
      expect(response.statusCode).toBe(400);
      expect(
        response.json<{ errors: { field: string }[] }>().errors.map((error) => error.field),
      ).toEqual(expect.arrayContaining(['hours', 'pillar']));
    });

    it('verify, reject, correct (back to pending), retract; completion 422 with the shortfall, then 200; invitation after completion', async () => {
      const participantId = await enrolledParticipant();
      const self = await t.auth('participant', { sub: 'student-1' });
      const log = async (hours: number, occurredOn: string, endedOn?: string) => {
        const response = await post(`/v1/participants/${participantId}/activities`, self, {
          pillar: 'social',
          category: 'institute_assistant',
          title: 'Institute assistant',
          occurredOn,
          ...(endedOn ? { endedOn } : {}),
          hours,
        });
        expect(response.statusCode).toBe(201);
        return response.json<{ activityId: string }>().activityId;
      };
      const url = (activityId: string, action: string) =>
        `/v1/participants/${participantId}/activities/${activityId}/${action}`;
      const a = await log(200, '2026-02-01', '2026-02-28');
      const b = await log(30, '2026-03-01', '2026-03-02');
      const c = await log(5, '2026-03-03');
      expect((await post(url(a, 'verification'), await staff())).statusCode).toBe(200);
      expect((await post(url(a, 'verification'), await staff())).json()).toMatchObject({
        status: 409,
        code: 'ACTIVITY_NOT_PENDING',
      });
      expect((await post(url(b, 'verification'), self)).statusCode).toBe(403);
      expect(
        (await post(url(b, 'rejection'), await staff(), { reason: 'no certificate' })).statusCode,
      ).toBe(200);
      expect(
        (await post(url(b, 'correction'), self, { reason: 'certificate attached', hours: 40 }))
          .statusCode,
      ).toBe(200);
      expect((await post(url(b, 'verification'), await staff())).statusCode).toBe(200);
      expect((await post(url(c, 'retraction'), self, { reason: 'duplicate' })).statusCode).toBe(
        200,
      );
      expect((await post(url(c, 'verification'), await staff())).statusCode).toBe(409);
      expect(
        (
          await post(url('01234567-89ab-7def-8123-456789abcdef', 'verification'), await staff())
        ).json(),
      ).toMatchObject({ status: 404, code: 'ACTIVITY_NOT_FOUND' });

      // 200 (a) + 40 (b, corrected and verified again) = 240; c was retracted.
      expect(
        (await post(`/v1/participants/${participantId}/completion`, await staff())).statusCode,
      ).toBe(200);
      expect(
        (await post(`/v1/participants/${participantId}/completion`, await staff())).json(),
      ).toMatchObject({ status: 409, code: 'ALREADY_COMPLETED' });
      const types = (await t.store.readStream(participantStream(participantId))).map(
        (event) => event.type,
      );
      expect(types).toEqual([
        'ParticipantEnrolled',
        'ActivityLogged',
        'ActivityLogged',
        'ActivityLogged',
        'ActivityVerified',
        'ActivityRejected',
        'ActivityCorrected',
        'ActivityVerified',
        'ActivityRetracted',
        'ParticipationCompleted',
      ]);
    });

    it('completion needs the required verified hours: 422 with the shortfall in detail', async () => {
      const participantId = await enrolledParticipant();
      const logged = await post(`/v1/participants/${participantId}/activities`, await staff(), {
        pillar: 'political',
        category: 'national_development_seminar',
        title: 'Seminar series',
        occurredOn: '2026-01-05',
        endedOn: '2026-01-31',
        hours: 230,
      });
      const { activityId } = logged.json<{ activityId: string }>();
      await post(
        `/v1/participants/${participantId}/activities/${activityId}/verification`,
        await staff(),
      );
      const short = await post(`/v1/participants/${participantId}/completion`, await staff());
      expect(short.statusCode).toBe(422);
      expect(short.json()).toMatchObject({ code: 'HOURS_NOT_MET', shortfallHours: 10 });
      expect(short.json<{ detail: string }>().detail).toContain('10 short');
      await post(
        `/v1/participants/${participantId}/activities/${activityId}/correction`,
        await staff(),
        { reason: 'miscounted', hours: 240 },
      );
      expect(
        (await post(`/v1/participants/${participantId}/completion`, await staff())).statusCode,
      ).toBe(422);
      await post(
        `/v1/participants/${participantId}/activities/${activityId}/verification`,
        await staff(),
      );
      expect(
        (await post(`/v1/participants/${participantId}/completion`, await staff())).statusCode,
      ).toBe(200);
      expect(
        (await post(`/v1/participants/${participantId}/association-invitation`, await staff()))
          .statusCode,
      ).toBe(403);
      expect(
        (await post(`/v1/participants/${participantId}/association-invitation`, await admin()))
          .statusCode,
      ).toBe(200);
      expect(
        (
          await post(`/v1/participants/${participantId}/association-invitation`, await admin())
        ).json(),
      ).toMatchObject({ status: 409, code: 'ALREADY_INVITED' });
    });

    it('reviews; invitation for an on-track participant with an exceptional review, 422 without one', async () => {
      const participantId = await enrolledParticipant();
      // By 2026-06-15, 165 of 730 days: a linear pace expects 54.2 hours; 60 verified is on track.
      const logged = await post(`/v1/participants/${participantId}/activities`, await staff(), {
        pillar: 'professional',
        category: 'paper_publication',
        title: 'Paper',
        occurredOn: '2026-05-01',
        endedOn: '2026-05-10',
        hours: 60,
      });
      await post(
        `/v1/participants/${participantId}/activities/${logged.json<{ activityId: string }>().activityId}/verification`,
        await staff(),
      );
      expect(
        (
          await post(`/v1/participants/${participantId}/association-invitation`, await admin())
        ).json(),
      ).toMatchObject({ status: 422, code: 'NOT_EXCEPTIONAL' });
      expect(
        (
          await post(`/v1/participants/${participantId}/reviews`, await staff(), {
            period: '2026-H1',
            rating: 'outstanding',
          })
        ).statusCode,
      ).toBe(400);
      expect(
        (
          await post(`/v1/participants/${participantId}/reviews`, await staff(), {
            period: '2026-H1',
            rating: 'exceptional',
            note: 'excellent',
          })
        ).statusCode,
      ).toBe(201);
      expect(
        (
          await post(`/v1/participants/${participantId}/reviews`, await staff(), {
            period: '2026-H1',
            rating: 'satisfactory',
          })
        ).statusCode,
      ).toBe(409);
      expect(
        (await post(`/v1/participants/${participantId}/association-invitation`, await admin()))
          .statusCode,
      ).toBe(200);
    });

    it('withdrawal by the participant; afterwards activities are 422', async () => {
      const participantId = await enrolledParticipant();
      expect(
        (
          await post(
            `/v1/participants/${participantId}/withdrawal`,
            await t.auth('participant', { sub: 'student-1' }),
            { reason: 'leaving the PhD' },
          )
        ).statusCode,
      ).toBe(200);
      const response = await post(
        `/v1/participants/${participantId}/activities`,
        await staff(),
        activity,
      );
      expect(response.json()).toMatchObject({ status: 422, code: 'PARTICIPANT_WITHDRAWN' });
      expect(
        (
          await post(`/v1/participants/${participantId}/withdrawal`, await staff(), {
            reason: 'again',
          })
        ).statusCode,
      ).toBe(409);
    });

    it('If-Match: the current revision succeeds, a stale one is 409 and appends nothing', async () => {
      const participantId = await enrolledParticipant();
      const first = await post(
        `/v1/participants/${participantId}/activities`,
        { ...(await staff()), 'if-match': '"0"' },
        activity,
      );
      expect(first.statusCode).toBe(201);
      expect(first.headers.etag).toBe('"1"');
      const stale = await post(
        `/v1/participants/${participantId}/activities`,
        { ...(await staff()), 'if-match': '"0"' },
        activity,
      );
      expect(stale.json()).toMatchObject({ status: 409, code: 'STALE_REVISION' });
      expect(await t.store.readStream(participantStream(participantId))).toHaveLength(2);
    });
  });

  describe('Idempotency-Key', () => {
    const submitted = async () =>
      (await t.store.readAll(0, 10_000)).filter((event) => event.type === 'ApplicationSubmitted');

    it('the same key and body return the first answer and append nothing; another body is 422', async () => {
      const headers = { ...(await t.auth('applicant')), 'idempotency-key': 'submit-1' };
      const first = await post(`/v1/programmes/${P}/applications`, headers, eligibleForm);
      const again = await post(`/v1/programmes/${P}/applications`, headers, eligibleForm);
      expect(first.statusCode).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first.json());
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await submitted()).toHaveLength(1);
      const other = await post(`/v1/programmes/${P}/applications`, headers, {
        ...eligibleForm,
        fullName: 'Wang Fang',
      });
      expect(other.json()).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await submitted()).toHaveLength(1);
    });

    it('keys belong to their caller; a refusal is remembered and replayed as it was', async () => {
      const a = await post(
        `/v1/programmes/${P}/applications`,
        { ...(await t.auth('applicant', { sub: 'a' })), 'idempotency-key': 'k' },
        eligibleForm,
      );
      const b = await post(
        `/v1/programmes/${P}/applications`,
        { ...(await t.auth('applicant', { sub: 'b' })), 'idempotency-key': 'k' },
        eligibleForm,
      );
      expect(a.json<{ applicationId: string }>().applicationId).not.toBe(
        b.json<{ applicationId: string }>().applicationId,
      );
      const id = a.json<{ applicationId: string }>().applicationId;
      const headers = { ...(await staff()), 'idempotency-key': 'decline-1' };
      expect(
        (await post(`/v1/applications/${id}/decline`, headers, { reason: 'x' })).statusCode,
      ).toBe(200);
      const recommend = { ...(await staff()), 'idempotency-key': 'rec-1' };
      const refused = await post(`/v1/applications/${id}/recommendation`, recommend, {});
      expect(refused.json()).toMatchObject({ status: 409, code: 'ALREADY_DECIDED' });
      const replayed = await post(`/v1/applications/${id}/recommendation`, recommend, {});
      expect(replayed.statusCode).toBe(409);
      expect(replayed.headers['content-type']).toContain('application/problem+json');
      expect(replayed.json()).toEqual(refused.json());
    });
  });

  it('durability: a restart on the same data keeps everything', async () => {
    const participantId = await enrolledParticipant();
    const before = await t.store.readAll(0, 1000);
    await t.close(false);
    t = await startApp(t.env);
    expect(await t.store.readAll(0, 1000)).toEqual(before);
    t.clock.set('2026-06-15T10:00:00+08:00');
    expect(
      (
        await post(`/v1/participants/${participantId}/activities`, await staff(), {
          pillar: 'social',
          category: 'other_social',
          title: 'x',
          occurredOn: '2026-06-01',
          hours: 2,
        })
      ).statusCode,
    ).toBe(201);
  });
});
