import { DTDP_2025 } from '../../src/programmes/domain/programme';
import { selectionStream } from '../../src/applications/domain/selection';
import { participantStream } from '../../src/participants/domain/participant';
import { eligibleForm } from '../support/programme-fixtures';
import { enrolParticipant } from '../support/participants';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { startService } from '../support/service-process';

const P = DTDP_2025.programmeId;
const activity = {
  pillar: 'professional',
  category: 'international_conference',
  title: 'Rare Earth Conference',
  occurredOn: '2026-03-14',
  hours: 2,
};

// Issue #14: commands sent at once on one stream are decided one after the other on fresh
// state, so only a real conflict is a 409.
describe.each<StoreKind>(['sqlite', 'postgres'])('commands under contention (%s)', (kind) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(await freshEnv(kind));
  });
  afterEach(async () => {
    await t.close();
  });

  const post = (app: TestApp, url: string, headers: Record<string, string>, payload: unknown) =>
    app.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });
  const staff = () => t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
  const loggedActivities = async (participantId: string) =>
    (await t.store.readStream(participantStream(participantId))).filter(
      (event) => event.type === 'ActivityLogged',
    ).length;

  it('50 activity logs sent at once for one participant: 50 × 201, and 50 activities in the timeline', async () => {
    const participantId = await enrolParticipant(t, { today: '2026-06-15T10:00:00+08:00' });
    const headers = await staff();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post(t, `/v1/participants/${participantId}/activities`, headers, {
          ...activity,
          title: `Seminar ${i}`,
        }),
      ),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(Array(50).fill(201));
    // Each decided on the state the one before it left: revisions 1 to 50, every one once.
    const etags = responses.map((response) => Number(JSON.parse(response.headers.etag as string)));
    expect([...etags].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await loggedActivities(participantId)).toBe(50);
    const last = Math.max(
      ...responses.map((response) => response.json<{ position: number }>().position),
    );
    const timeline = await t.request({
      method: 'GET',
      url: `/v1/participants/${participantId}/timeline?limit=200&minPosition=${last}`,
      headers,
    });
    expect(timeline.statusCode).toBe(200);
    const items = timeline.json<{ items: Array<{ type: string }> }>().items;
    expect(items.filter((item) => item.type === 'ActivityLogged')).toHaveLength(50);
    // Every command's wait for its turn is measured; none timed out, none lost a race.
    const metrics = (await t.request({ method: 'GET', url: '/metrics' })).body;
    const figure = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(figure('command_queue_wait_seconds_count')).toBeGreaterThanOrEqual(50);
    expect(figure('command_queue_wait_seconds_sum')).toBeGreaterThan(0);
    expect(figure('command_queue_timeouts_total')).toBe(0);
    expect(figure('command_conflicts_retried_total')).toBe(0);
  }, 60_000);

  it('6 recommendations at once against a quota of 3: exactly 3 accepted and 3 × 409 QUOTA_REACHED', async () => {
    const applications: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const submitted = await post(
        t,
        `/v1/programmes/${P}/applications`,
        await t.auth('applicant', { sub: `student-${i}` }),
        eligibleForm,
      );
      applications.push(submitted.json<{ applicationId: string }>().applicationId);
    }
    const headers = await staff();
    const responses = await Promise.all(
      applications.map((id) => post(t, `/v1/applications/${id}/recommendation`, headers, {})),
    );
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([200, 200, 200, 409, 409, 409]);
    for (const response of responses.filter((r) => r.statusCode === 409))
      expect(response.json()).toMatchObject({ code: 'QUOTA_REACHED' });
    const events = await t.store.readStream(selectionStream(P, 'B33'));
    expect(events.filter((event) => event.type === 'CandidateRecommended')).toHaveLength(3);
  }, 60_000);

  it('two verifications of one activity at once: one 200, one 409 already decided', async () => {
    const participantId = await enrolParticipant(t, { today: '2026-06-15T10:00:00+08:00' });
    const headers = await staff();
    const logged = await post(t, `/v1/participants/${participantId}/activities`, headers, activity);
    const { activityId } = logged.json<{ activityId: string }>();
    const responses = await Promise.all(
      [0, 1].map(() =>
        post(
          t,
          `/v1/participants/${participantId}/activities/${activityId}/verification`,
          headers,
          {},
        ),
      ),
    );
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([200, 409]);
    const refused = responses.find((response) => response.statusCode === 409)!;
    expect(refused.json<{ code: string }>().code).not.toBe('CONCURRENCY_CONFLICT');
  }, 60_000);

  it('two instances on one store writing one stream at once: every command lands, no CONCURRENCY_CONFLICT', async () => {
    const participantId = await enrolParticipant(t, { today: '2026-06-15T10:00:00+08:00' });
    // A second app on the same store: its own queue, its own connections, so the two race.
    const other = await startApp({ ...t.env, PROCESS_ROLE: 'api' }, t.clock);
    try {
      const headers = await staff();
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          post(i % 2 === 0 ? t : other, `/v1/participants/${participantId}/activities`, headers, {
            ...activity,
            title: `Workshop ${i}`,
          }),
        ),
      );
      const refused = responses.filter((response) => response.statusCode !== 201);
      expect(refused.map((response) => response.json<unknown>())).toEqual([]);
      expect(await loggedActivities(participantId)).toBe(40);
    } finally {
      await other.close(false);
    }
  }, 60_000);

  it('another process (the service as operators start it) and this one writing one stream at once: every command lands', async () => {
    const participantId = await enrolParticipant(t, { today: '2026-06-15T10:00:00+08:00' });
    const service = await startService({ ...t.env, PROCESS_ROLE: 'api' });
    try {
      const headers = await staff();
      const body = (i: number) => ({ ...activity, title: `Lecture ${i}` });
      const url = `/v1/participants/${participantId}/activities`;
      const answers = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          if (i % 2 === 0) {
            const response = await post(t, url, headers, body(i));
            return { status: response.statusCode, body: response.json<unknown>() };
          }
          const response = await fetch(`${service.baseUrl}${url}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify(body(i)),
          });
          return { status: response.status, body: await response.json() };
        }),
      );
      expect(answers.filter((answer) => answer.status !== 201)).toEqual([]);
      expect(await loggedActivities(participantId)).toBe(40);
    } finally {
      service.kill();
      await service.exited;
    }
  }, 120_000);

  it('a stale If-Match is 409 STALE_REVISION at once, even while other commands queue', async () => {
    const participantId = await enrolParticipant(t, { today: '2026-06-15T10:00:00+08:00' });
    const headers = await staff();
    // The stream is at revision 1 once this is logged, so If-Match "0" is stale whatever the order.
    expect(
      (await post(t, `/v1/participants/${participantId}/activities`, headers, activity)).statusCode,
    ).toBe(201);
    const responses = await Promise.all([
      ...Array.from({ length: 5 }, () =>
        post(t, `/v1/participants/${participantId}/activities`, headers, activity),
      ),
      post(
        t,
        `/v1/participants/${participantId}/activities`,
        { ...headers, 'if-match': '"0"' },
        activity,
      ),
    ]);
    expect(responses[5]!.statusCode).toBe(409);
    expect(responses[5]!.json()).toMatchObject({ code: 'STALE_REVISION' });
    expect(responses[5]!.headers.etag).toEqual(expect.stringMatching(/^"\d+"$/));
    expect(responses.slice(0, 5).map((response) => response.statusCode)).toEqual(
      Array(5).fill(201),
    );
  }, 60_000);
});
