import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixedClock } from '../../src/shared/clock';
import { type TestApp, freshEnv, startApp } from '../support/app';
import { enrolParticipant } from '../support/participants';

const metric = (text: string, name: string) =>
  [...text.matchAll(new RegExp(`^${name}\\{projection="([^"]+)"\\} (\\d+)$`, 'gm'))].map(
    (match) => [match[1], Number(match[2])] as const,
  );

// PROCESS_ROLE (docs/operations.md): `api` instances serve the API and run no projection,
// a `projector` keeps the read models and serves only health and metrics; all share one
// PostgreSQL database for events, read models and keys.
describe('process roles on one PostgreSQL: api and projector', () => {
  let projector: TestApp;
  let api: TestApp;
  let secondApi: TestApp;

  beforeAll(async () => {
    const shared = { ...(await freshEnv('postgres')), KEY_STORE: 'postgres' };
    const own = (role: string) => ({
      ...shared,
      DATA_DIR: mkdtempSync(join(tmpdir(), `roles-${role}-`)),
      PROCESS_ROLE: role,
    });
    const clock = () => new FixedClock(new Date('2025-11-10T10:00:00+08:00'));
    projector = await startApp(own('projector'), clock());
    api = await startApp(own('api'), clock());
    secondApi = await startApp(own('api'), clock());
  });
  afterAll(async () => {
    await secondApi.close();
    await api.close();
    await projector.close();
  });

  it('the projector answers only health and metrics, and leads every read model', async () => {
    const programmes = await projector.request({
      method: 'GET',
      url: '/v1/programmes',
      headers: await projector.auth('programme_admin'),
    });
    expect(programmes.statusCode).toBe(404);
    expect(programmes.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await projector.request({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await projector.request({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    const metrics = (await projector.request({ method: 'GET', url: '/metrics' })).body;
    const leaders = metric(metrics, 'projection_leader');
    expect(leaders.length).toBeGreaterThan(0);
    expect(leaders.every(([, value]) => value === 1)).toBe(true);
  });

  it('an api instance leads nothing and answers minPosition from the projector’s checkpoint', async () => {
    const apiMetrics = (await api.request({ method: 'GET', url: '/metrics' })).body;
    const leaders = metric(apiMetrics, 'projection_leader');
    expect(leaders.length).toBeGreaterThan(0);
    expect(leaders.every(([, value]) => value === 0)).toBe(true);

    const id = await enrolParticipant(api, { today: '2026-07-02T10:00:00+08:00' });
    secondApi.clock.set('2026-07-02T10:00:00+08:00');
    const staff = await api.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
    let position = 0;
    for (let i = 0; i < 20; i += 1) {
      // Written through either instance, as a load balancer spreads them.
      const through = i % 2 === 0 ? api : secondApi;
      const logged = await through.request({
        method: 'POST',
        url: `/v1/participants/${id}/activities`,
        headers: { ...staff, 'content-type': 'application/json' },
        payload: JSON.stringify({
          pillar: 'social',
          category: 'journal_assistant',
          title: `Journal assistance ${i}`,
          occurredOn: '2026-05-01',
          hours: 2,
        }),
      });
      expect(logged.statusCode).toBe(201);
      position = logged.json<{ position: number }>().position;
    }
    for (const instance of [api, secondApi]) {
      const timeline = await instance.request({
        method: 'GET',
        url: `/v1/participants/${id}/timeline?minPosition=${position}&limit=50`,
        headers: staff,
      });
      expect(timeline.statusCode).toBe(200);
      expect(
        timeline
          .json<{ items: Array<{ type: string }> }>()
          .items.filter((item) => item.type === 'ActivityLogged'),
      ).toHaveLength(20);
    }
  });
});
