import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { eligibleForm } from '../support/programme-fixtures';
import { enrolParticipant } from '../support/participants';

const P = 'cast-dtdp-2025';

describe.each<StoreKind>(['sqlite', 'postgres'])('queries over HTTP (%s)', (kind) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(await freshEnv(kind));
  });
  afterEach(async () => {
    await t.close();
  });

  const post = async (url: string, headers: Record<string, string>, payload: unknown = {}) =>
    t.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });
  const get = (url: string, headers: Record<string, string>) =>
    t.request({ method: 'GET', url, headers });
  const staff = (society = 'B33') => t.auth('society_staff', { society, sub: `staff-${society}` });

  const participant = () => enrolParticipant(t, { today: '2026-07-02T10:00:00+08:00' });

  it('progress: read-your-writes with minPosition, verified hours per pillar, pace as of today', async () => {
    const id = await participant();
    const logged = await post(`/v1/participants/${id}/activities`, await staff(), {
      pillar: 'professional',
      category: 'international_conference',
      title: 'Conference',
      occurredOn: '2026-04-20',
      endedOn: '2026-04-23',
      hours: 32,
    });
    const { activityId } = logged.json<{ activityId: string }>();
    const verified = await post(
      `/v1/participants/${id}/activities/${activityId}/verification`,
      await staff(),
    );
    const { position } = verified.json<{ position: number }>();
    const response = await get(
      `/v1/participants/${id}/progress?minPosition=${position}`,
      await t.auth('participant', { sub: 'student-1' }),
    );
    expect(response.statusCode).toBe(200);
    // 182 of 730 days: a linear pace expects 59.84 hours; 32 verified is a ratio of 0.53: at risk.
    expect(response.json()).toEqual({
      participantId: id,
      programmeId: P,
      societyCode: 'B33',
      status: 'active',
      windowStart: '2026-01-01',
      windowEnd: '2028-01-01',
      verifiedHours: { political: 0, professional: 32, social: 0, total: 32 },
      pendingHours: 0,
      requiredHours: 240,
      percentComplete: 13.33,
      expectedHoursToDate: 59.84,
      pace: 'at_risk',
      projectedCompletionDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      lastActivityOn: '2026-04-23',
      position,
    });
  });

  it('progress: 404 for another student or another society, 403 for the dashboard role', async () => {
    const id = await participant();
    const { position } = (
      await post(`/v1/participants/${id}/reviews`, await staff(), {
        period: '2026-H1',
        rating: 'satisfactory',
      })
    ).json<{ position: number }>();
    expect(
      (await get(`/v1/participants/${id}/progress?minPosition=${position}`, await staff()))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await get(
          `/v1/participants/${id}/progress`,
          await t.auth('participant', { sub: 'student-2' }),
        )
      ).statusCode,
    ).toBe(404);
    expect((await get(`/v1/participants/${id}/progress`, await staff('A01'))).statusCode).toBe(404);
    expect((await get(`/v1/participants/${id}/progress`, await t.auth('auditor'))).statusCode).toBe(
      200,
    );
    expect(
      (await get(`/v1/participants/${id}/progress`, await t.auth('dashboard'))).statusCode,
    ).toBe(403);
  });

  it('minPosition beyond the log: 503 with Retry-After after 5 s; a bad one is 400', async () => {
    const id = await participant();
    const started = Date.now();
    const response = await get(`/v1/participants/${id}/progress?minPosition=999999`, await staff());
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({ code: 'NOT_YET_PROJECTED' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
    expect(
      (await get(`/v1/participants/${id}/progress?minPosition=-1`, await staff())).statusCode,
    ).toBe(400);
  }, 20_000);

  it('applications: one with its eligibility reasons, lists filtered by society and status and paged', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      t.clock.set(`2025-11-1${i}T10:00:00+08:00`);
      const response = await post(
        `/v1/programmes/${P}/applications`,
        await t.auth('applicant', { sub: `s-${i}` }),
        { ...eligibleForm, nationality: i === 4 ? 'US' : 'CN' },
      );
      ids.push(response.json<{ applicationId: string }>().applicationId);
    }
    const { position } = (
      await post(`/v1/applications/${ids[0]}/recommendation`, await staff())
    ).json<{ position: number }>();
    const own = await get(
      `/v1/applications/${ids[4]}?minPosition=${position}`,
      await t.auth('applicant', { sub: 's-4' }),
    );
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({
      status: 'submitted',
      societyCode: 'B33',
      eligibility: {
        eligible: false,
        checks: expect.arrayContaining([
          expect.objectContaining({ rule: 'nationality', passed: false }),
        ]),
      },
    });
    expect(
      (await get(`/v1/applications/${ids[4]}`, await t.auth('applicant', { sub: 's-0' })))
        .statusCode,
    ).toBe(404);
    expect((await get(`/v1/applications/${ids[0]}`, await staff())).json()).toMatchObject({
      status: 'recommended',
    });
    expect((await get(`/v1/applications/${ids[0]}`, await staff('A01'))).statusCode).toBe(404);

    const recommended = await get(
      `/v1/programmes/${P}/applications?status=recommended`,
      await staff(),
    );
    expect(
      recommended
        .json<{ items: { applicationId: string }[] }>()
        .items.map((doc) => doc.applicationId),
    ).toEqual([ids[0]]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(
        `/v1/programmes/${P}/applications?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        await t.auth('programme_admin'),
      );
      const body = page.json<{ items: { applicationId: string }[]; nextCursor: string | null }>();
      seen.push(...body.items.map((doc) => doc.applicationId));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(
      (await get(`/v1/programmes/${P}/applications?society=A01`, await staff())).statusCode,
    ).toBe(403);
    expect(
      (await get(`/v1/programmes/${P}/applications?status=bogus`, await staff())).statusCode,
    ).toBe(400);
    expect(
      (await get(`/v1/programmes/${P}/applications`, await t.auth('dashboard'))).statusCode,
    ).toBe(403);
  });

  it('programmes, timeline (paged, in order), eligibility, participants by pace and the dashboard', async () => {
    // The seeded programme is position 1; the read models catch up after start.
    const programmes = await get('/v1/programmes?minPosition=1', await t.auth('dashboard'));
    expect(
      programmes.json<{ items: { programmeId: string }[] }>().items.map((doc) => doc.programmeId),
    ).toEqual([P]);
    expect((await get(`/v1/programmes/${P}`, await t.auth('applicant'))).json()).toMatchObject({
      requiredHours: 240,
      recommendationQuota: 3,
    });
    expect((await get('/v1/programmes/nope', await t.auth('applicant'))).statusCode).toBe(404);

    const id = await participant();
    const activityIds: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const logged = await post(`/v1/participants/${id}/activities`, await staff(), {
        pillar: 'social',
        category: 'other_social',
        title: `Volunteering ${i}`,
        occurredOn: `2026-0${i + 2}-01`,
        hours: 20,
      });
      activityIds.push(logged.json<{ activityId: string }>().activityId);
    }
    const review = await post(`/v1/participants/${id}/reviews`, await staff(), {
      period: '2026-H1',
      rating: 'exceptional',
    });
    const { position } = review.json<{ position: number }>();

    const first = await get(
      `/v1/participants/${id}/timeline?limit=4&minPosition=${position}`,
      await t.auth('participant', { sub: 'student-1' }),
    );
    const firstPage = first.json<{
      items: {
        type: string;
        position: number;
        summary: string;
        actor: { role: string };
        occurredOn?: string;
      }[];
      nextCursor: string;
    }>();
    expect(firstPage.items.map((item) => item.type)).toEqual([
      'ParticipantEnrolled',
      'ActivityLogged',
      'ActivityLogged',
      'ActivityLogged',
    ]);
    expect(firstPage.items[1]).toMatchObject({
      summary: 'Logged 20 h social (other_social): Volunteering 0',
      occurredOn: '2026-02-01',
      actor: { role: 'society_staff' },
    });
    const second = (
      await get(
        `/v1/participants/${id}/timeline?limit=4&cursor=${firstPage.nextCursor}`,
        await staff(),
      )
    ).json<{ items: { type: string; position: number }[]; nextCursor: null }>();
    expect(second.items.map((item) => item.type)).toEqual(['ActivityLogged', 'ProgressReviewed']);
    expect(second.nextCursor).toBeNull();
    const positions = [...firstPage.items, ...second.items].map((item) => item.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(
      (await get(`/v1/participants/${id}/timeline?cursor=garbage`, await staff())).statusCode,
    ).toBe(400);

    const eligibility = await get(`/v1/participants/${id}/eligibility`, await staff());
    expect(eligibility.json()).toMatchObject({
      completion: { possible: false, shortfallHours: 240 },
      invitation: { possible: false, pace: 'at_risk' },
    });

    const atRisk = await get(`/v1/programmes/${P}/participants?pace=at_risk`, await staff());
    expect(atRisk.json<{ items: { participantId: string; fullName: string }[] }>().items).toEqual([
      expect.objectContaining({ participantId: id, fullName: 'Li Wei' }),
    ]);
    expect(
      (await get(`/v1/programmes/${P}/participants?pace=ahead`, await staff())).json<{
        items: unknown[];
      }>().items,
    ).toEqual([]);

    // Exact figures for headquarters; the dashboard role's view of one person is in
    // dashboard.e2e-spec.ts (suppressed below DASHBOARD_MIN_GROUP).
    const admin = await t.auth('programme_admin');
    const dashboard = await get(`/v1/programmes/${P}/dashboard`, admin);
    expect(dashboard.json()).toEqual({
      programmeId: P,
      society: null,
      applications: 1,
      eligible: 1,
      recommended: 1,
      recommendationQuota: 3,
      matched: 1,
      enrolled: 1,
      active: 1,
      completed: 0,
      withdrawn: 0,
      verifiedHours: { political: 0, professional: 0, social: 0, total: 0, suppressed: false },
      behind: 0,
      atRisk: 1,
      declined: 0,
      notSelected: 0,
      pace: { ahead: 0, on_track: 0, behind: 0, at_risk: 1, completed: 0, withdrawn: 0 },
      expectedHoursToDate: expect.any(Number),
      suppressed: false,
    });
    expect(JSON.stringify(dashboard.json())).not.toContain('Li Wei');
    // A write moves the read models on: the dashboard is not served from before it.
    const verified = await post(
      `/v1/participants/${id}/activities/${activityIds[0]!}/verification`,
      await staff(),
    );
    const after = await get(
      `/v1/programmes/${P}/dashboard?minPosition=${verified.json<{ position: number }>().position}`,
      admin,
    );
    expect(after.json()).toMatchObject({
      verifiedHours: { political: 0, professional: 0, social: 20, total: 20 },
    });
    expect((await get(`/v1/programmes/${P}/dashboard?society=A01`, await staff())).statusCode).toBe(
      403,
    );
  });

  it('as of a date and as known at an instant: progress, eligibility and timeline', async () => {
    const id = await participant();
    const log = async (title: string, occurredOn: string, hours: number) => {
      const logged = await post(`/v1/participants/${id}/activities`, await staff(), {
        pillar: 'professional',
        category: 'international_conference',
        title,
        occurredOn,
        hours,
      });
      const { activityId } = logged.json<{ activityId: string }>();
      await post(`/v1/participants/${id}/activities/${activityId}/verification`, await staff());
      return activityId;
    };
    const early = await log('Conference', '2026-04-20', 20);
    await log('Workshop', '2026-07-01', 10);
    // recordedAt is the system's clock: take an instant between the writes.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const retracted = await post(
      `/v1/participants/${id}/activities/${early}/retraction`,
      await staff(),
      { reason: 'entered twice' },
    );
    const position = retracted.json<{ position: number }>().position;
    const auditor = await t.auth('auditor');
    const total = async (query: string) => {
      const response = await get(
        `/v1/participants/${id}/progress?minPosition=${position}&${query}`,
        auditor,
      );
      expect(response.statusCode).toBe(200);
      return response.json<{ verifiedHours: { total: number } }>().verifiedHours.total;
    };
    expect(await total('')).toBe(10);
    expect(await total('asOf=2026-06-30')).toBe(0); // the retraction reaches back to April
    expect(await total(`knownAt=${before}`)).toBe(30);
    expect(await total(`asOf=2026-06-30&knownAt=${before}`)).toBe(20);
    // An offset other than Z is the same instant.
    const shanghai = new Date(Date.parse(before) + 8 * 3600_000)
      .toISOString()
      .replace('Z', '+08:00');
    expect(await total(`knownAt=${encodeURIComponent(shanghai)}`)).toBe(30);

    const progress = await get(
      `/v1/participants/${id}/progress?asOf=2026-06-30&knownAt=${before}`,
      auditor,
    );
    expect(progress.json()).toMatchObject({ asOf: '2026-06-30', knownAt: before });
    // 240 × 180/730 for 30 June, whatever today is.
    expect(progress.json()).toMatchObject({ expectedHoursToDate: 59.18 });

    const eligibility = await get(`/v1/participants/${id}/eligibility?knownAt=${before}`, auditor);
    expect(eligibility.statusCode).toBe(200);
    expect(eligibility.json()).toMatchObject({ knownAt: before });

    const timeline = await get(
      `/v1/participants/${id}/timeline?knownAt=${before}&limit=3`,
      auditor,
    );
    const page = timeline.json<{ items: { type: string }[]; nextCursor: string }>();
    expect(page.items.map((item) => item.type)).toEqual([
      'ParticipantEnrolled',
      'ActivityLogged',
      'ActivityVerified',
    ]);
    const rest = await get(
      `/v1/participants/${id}/timeline?knownAt=${before}&cursor=${page.nextCursor}`,
      auditor,
    );
    expect(rest.json<{ items: { type: string }[] }>().items.map((item) => item.type)).toEqual([
      'ActivityLogged',
      'ActivityVerified',
    ]);

    expect(
      (await get(`/v1/participants/${id}/progress?asOf=2025-12-31`, auditor)).json(),
    ).toMatchObject({ status: 404, code: 'NOT_ENROLLED_AS_OF' });
    const bad = await get(
      `/v1/participants/${id}/progress?asOf=2026-02-30&knownAt=yesterday`,
      auditor,
    );
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toContain('asOf');
    expect(JSON.stringify(bad.json())).toContain('knownAt');
  });
});
