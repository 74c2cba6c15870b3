import { freshEnv, startApp, type TestApp } from '../support/app';
import { enrolParticipant } from '../support/participants';
import { eligibleForm } from '../support/programme-fixtures';

const P = 'cast-dtdp-2025';
const SUBMITTED_AT = '2025-11-10T10:00:00+08:00';
const TODAY = '2026-07-02T10:00:00+08:00';
// Free text written by staff about students: the dashboard role must never see it.
const FREE_TEXT = ['Declined: outside the scope', 'Recommended: strong record', 'Reviewed: kind'];

/** What each test reads: where the cohort's events end, and ids to ask about. */
type Cohort = { position: number; participantId: string; declinedId: string };

/**
 * B33's cohort: six applications (one declined with a reason, one recommended with a note), two
 * of them enrolled; one participant has 20 verified social hours and a review with a note.
 * So the society has 6 applicants, but only 2 or 3 people in every later count.
 */
async function buildCohort(t: TestApp): Promise<Cohort> {
  const post = async (url: string, headers: Record<string, string>, payload: unknown = {}) => {
    const response = await t.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });
    expect(response.statusCode).toBeLessThan(300);
    return response.json<{ position: number; applicationId: string; activityId: string }>();
  };
  const staff = await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
  const participantId = await enrolParticipant(t, { sub: 'student-1', today: TODAY });
  t.clock.set(SUBMITTED_AT);
  await enrolParticipant(t, { sub: 'student-2', today: SUBMITTED_AT });
  const others: string[] = [];
  for (let i = 3; i <= 6; i += 1) {
    const { applicationId } = await post(
      `/v1/programmes/${P}/applications`,
      await t.auth('applicant', { sub: `student-${i}` }),
      eligibleForm,
    );
    others.push(applicationId);
  }
  await post(`/v1/applications/${others[0]!}/recommendation`, staff, { note: FREE_TEXT[1] });
  await post(`/v1/applications/${others[1]!}/decline`, staff, { reason: FREE_TEXT[0] });
  t.clock.set(TODAY);
  const { activityId } = await post(`/v1/participants/${participantId}/activities`, staff, {
    pillar: 'social',
    category: 'other_social',
    title: 'Volunteering',
    occurredOn: '2026-03-01',
    hours: 20,
  });
  await post(`/v1/participants/${participantId}/activities/${activityId}/verification`, staff);
  const { position } = await post(`/v1/participants/${participantId}/reviews`, staff, {
    period: '2026-H1',
    rating: 'satisfactory',
    note: FREE_TEXT[2],
  });
  return { position, participantId, declinedId: others[1]! };
}

const HIDDEN_PACE = {
  ahead: null,
  on_track: null,
  behind: null,
  at_risk: null,
  completed: null,
  withdrawn: null,
};

// What a linear pace expects of the two participants on TODAY, half-way through their first year.
const EXPECTED_TO_DATE = 119.7;

const EXACT = {
  programmeId: P,
  society: 'B33',
  applications: 6,
  eligible: 6,
  recommended: 3,
  recommendationQuota: 3,
  matched: 2,
  enrolled: 2,
  active: 2,
  completed: 0,
  withdrawn: 0,
  verifiedHours: { political: 0, professional: 0, social: 20, total: 20, suppressed: false },
  behind: 0,
  atRisk: 2,
  declined: 1,
  notSelected: 0,
  pace: { ahead: 0, on_track: 0, behind: 0, at_risk: 2, completed: 0, withdrawn: 0 },
  expectedHoursToDate: EXPECTED_TO_DATE,
  suppressed: false,
};

describe('dashboard small cells (docs/API.md, "Privacy": DASHBOARD_MIN_GROUP)', () => {
  let t: TestApp;
  let cohort: Cohort;
  beforeAll(async () => {
    t = await startApp(await freshEnv('sqlite'), undefined);
    t.clock.set(SUBMITTED_AT);
    cohort = await buildCohort(t);
  }, 60_000);
  afterAll(async () => {
    await t.close();
  });

  const dashboard = async (app: TestApp, headers: Record<string, string>) => {
    const response = await app.request({
      method: 'GET',
      url: `/v1/programmes/${P}/dashboard?society=B33&minPosition=${cohort.position}`,
      headers,
    });
    expect(response.statusCode).toBe(200);
    return response.json<unknown>();
  };

  it('staff and headquarters see exact figures; the dashboard role, from the same cache, does not', async () => {
    // Staff ask first, so an exact answer is cached for these read models and this quarter-hour.
    expect(await dashboard(t, await t.auth('society_staff', { society: 'B33' }))).toEqual(EXACT);
    expect(await dashboard(t, await t.auth('programme_admin'))).toEqual(EXACT);
    expect(await dashboard(t, await t.auth('auditor'))).toEqual(EXACT);
    // Default minimum group 5: 6 applicants are shown, the 2 or 3 people of every later count
    // and the hours of 2 participants are not.
    expect(await dashboard(t, await t.auth('dashboard'))).toEqual({
      ...EXACT,
      recommended: null,
      matched: null,
      enrolled: null,
      active: null,
      verifiedHours: {
        political: null,
        professional: null,
        social: null,
        total: null,
        suppressed: true,
      },
      atRisk: null,
      declined: null,
      // One cell hidden hides them all: the others and `enrolled` would give it away.
      pace: HIDDEN_PACE,
      expectedHoursToDate: null,
      suppressed: true,
    });
  });

  it('a minimum group of 3 shows counts of 3 and hides counts of 2; a minimum group of 1 shows everything', async () => {
    await t.close(false);
    t = await startApp({ ...t.env, DASHBOARD_MIN_GROUP: '3' }, t.clock);
    expect(await dashboard(t, await t.auth('dashboard'))).toEqual({
      ...EXACT,
      matched: null,
      enrolled: null,
      active: null,
      verifiedHours: {
        political: null,
        professional: null,
        social: null,
        total: null,
        suppressed: true,
      },
      atRisk: null,
      declined: null,
      // One cell hidden hides them all: the others and `enrolled` would give it away.
      pace: HIDDEN_PACE,
      expectedHoursToDate: null,
      suppressed: true,
    });
    await t.close(false);
    t = await startApp({ ...t.env, DASHBOARD_MIN_GROUP: '1' }, t.clock);
    expect(await dashboard(t, await t.auth('dashboard'))).toEqual(EXACT);
  });

  it('the dashboard role sees no free text written by staff, on any route it can reach', async () => {
    const { participantId, declinedId, position } = cohort;
    // Each route the service answers GET on, and what the dashboard role gets from it.
    const routes: Array<[string, number]> = [
      [`/v1/programmes?minPosition=${position}`, 200],
      [`/v1/programmes/${P}`, 200],
      [`/v1/programmes/${P}/dashboard`, 200],
      [`/v1/programmes/${P}/dashboard?society=B33`, 200],
      [`/v1/programmes/${P}/applications`, 403],
      [`/v1/programmes/${P}/participants`, 403],
      [`/v1/applications/${declinedId}`, 403],
      [`/v1/participants/${participantId}/progress`, 403],
      [`/v1/participants/${participantId}/eligibility`, 403],
      [`/v1/participants/${participantId}/timeline`, 403],
      [`/v1/audit/events`, 403],
      [`/v1/audit/streams/participant-${participantId}`, 403],
      ['/health/ready', 200],
    ];
    const urls = routes.map(([url]) => url);
    const read = async (url: string, headers: Record<string, string>) =>
      t.request({ method: 'GET', url, headers });
    // The texts are there for those who may read them, so their absence below means something.
    const staff = await t.auth('society_staff', { society: 'B33' });
    const staffSees = (
      await Promise.all(urls.map(async (url) => (await read(url, staff)).body))
    ).join('\n');
    expect(FREE_TEXT.filter((text) => staffSees.includes(text))).toEqual(FREE_TEXT);

    const dashboardRole = await t.auth('dashboard');
    for (const [url, status] of routes) {
      const response = await read(url, dashboardRole);
      expect({ url, status: response.statusCode }).toEqual({ url, status });
      for (const text of FREE_TEXT) expect(response.body).not.toContain(text);
    }
  });
});
