import { freshEnv, startApp, type TestApp } from '../support/app';

const METRICS_TOKEN = 'metrics-scraper-token-0123456789';

describe('health (HTTP)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    t!.request({ method: 'GET', url, headers });

  it('is live and ready on the embedded store, which it creates in DATA_DIR', async () => {
    t = await startApp(await freshEnv('sqlite'));
    const live = await get('/health/live');
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'ok' });
    const ready = await get('/health/ready', await t.auth('auditor'));
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ok',
      details: {
        eventStore: { status: 'up' },
        projections: { status: 'up', lag: expect.any(Number) },
      },
    });
  });

  it('is ready on PostgreSQL', async () => {
    t = await startApp(await freshEnv('postgres'));
    expect((await get('/health/ready')).statusCode).toBe(200);
  });

  it('without a token, or with a token of another role, says only {status}', async () => {
    t = await startApp({ ...(await freshEnv('sqlite')), METRICS_TOKEN });
    const bare = { status: 'ok' };
    expect((await get('/health/ready')).json()).toEqual(bare);
    for (const role of ['participant', 'dashboard', 'applicant'] as const)
      expect((await get('/health/ready', await t.auth(role))).json()).toEqual(bare);
    // A bad token is not refused (probes must not fail on a stale header), it just sees less.
    const forged = await get('/health/ready', { authorization: 'Bearer not.a.token' });
    expect(forged.statusCode).toBe(200);
    expect(forged.json()).toEqual(bare);
    const wrongMetrics = await get('/health/ready', { authorization: `Bearer ${METRICS_TOKEN}x` });
    expect(wrongMetrics.json()).toEqual(bare);
    // Details for programme admins, auditors and the metrics scraper.
    for (const headers of [
      await t.auth('programme_admin'),
      await t.auth('auditor'),
      { authorization: `Bearer ${METRICS_TOKEN}` },
    ]) {
      expect((await get('/health/ready', headers)).json()).toMatchObject({
        status: 'ok',
        details: { projections: { position: expect.any(Number) } },
      });
    }
  });

  it('is live but not ready while the store does not answer; only a privileged caller learns why', async () => {
    t = await startApp({
      ...(await freshEnv('sqlite')),
      EVENT_STORE: 'postgres',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere',
    });
    expect((await get('/health/live')).statusCode).toBe(200);
    expect((await get('/health/live')).json()).toEqual({ status: 'ok' });

    const anonymous = await get('/health/ready');
    expect(anonymous.statusCode).toBe(503);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    expect(anonymous.headers['retry-after']).toBe('5');
    expect(anonymous.json()).toEqual({
      type: '/problems/not-ready',
      title: 'Service unavailable',
      status: 503,
      detail: 'The service is not ready.',
      code: 'NOT_READY',
    });
    expect(anonymous.body).not.toMatch(/127\.0\.0\.1|nowhere|ECONNREFUSED|:1\b/);

    const auditor = await get('/health/ready', await t.auth('auditor'));
    expect(auditor.statusCode).toBe(503);
    expect(auditor.json()).toMatchObject({
      status: 503,
      code: 'NOT_READY',
      detail: 'Not ready: eventStore, keyStore, projections did not answer.',
      checks: { eventStore: { status: 'down' }, keyStore: { status: 'down' } },
    });
  });
});
