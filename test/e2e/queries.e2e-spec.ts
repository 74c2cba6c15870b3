import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { eligibleForm } from '../support/programme-fixtures';

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

  async function participant(): Promise<string> {
    const submitted = await post(
      `/v1/programmes/${P}/applications`,
      await t.auth('applicant', { sub: 'student-1' }),
      eligibleForm,
    );
    const { applicationId } = submitted.json<{ applicationId: string }>();
    await post(`/v1/applications/${applicationId}/recommendation`, await staff());
    await post(`/v1/applications/${applicationId}/match`, await t.auth('programme_admin'), {
      mentoringSocietyCode: 'B33',
    });
    const enrolled = await post(
      `/v1/applications/${applicationId}/enrolment`,
      await t.auth('programme_admin'),
      { startDate: '2026-01-01' },
    );
    t.clock.set('2026-07-02T10:00:00+08:00');
    return enrolled.json<{ participantId: string }>().participantId;
  }

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
});
