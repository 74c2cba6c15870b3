import { freshEnv, startApp, type TestApp } from '../support/app';

describe('operations: metrics, docs and the dashboard page', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(await freshEnv('sqlite'));
  });
  afterEach(() => t.close());

  it('GET /metrics: Prometheus text without a token, with request timings by route and projection lag', async () => {
    await t.request({ method: 'GET', url: '/health/live' });
    await t.request({ method: 'GET', url: '/v1/programmes/cast-dtdp-2025/dashboard' }); // 401
    await t.request({
      method: 'GET',
      url: '/v1/programmes?minPosition=1',
      headers: await t.auth('dashboard'),
    });
    const response = await t.request({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} 1/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/v1\/programmes\/:programmeId\/dashboard",status="401"\} 1/,
    );
    expect(text).toMatch(/event_store_head_position 1\b/);
    expect(text).toMatch(/projection_checkpoint_position\{projection="programmes"\} 1\b/);
    expect(text).toMatch(/projection_lag_events\{projection="programmes"\} 0\b/);
    expect(text).toMatch(/projections_failed 0\b/);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('GET /metrics with METRICS_TOKEN set: 401 problem+json without exactly that bearer token', async () => {
    await t.close();
    const token = 'metrics-scraper-token-0123456789';
    t = await startApp({ ...(await freshEnv('sqlite')), METRICS_TOKEN: token });
    for (const authorization of [
      undefined,
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}0`,
      `Basic ${token}`,
      // A valid API token of any role is not the metrics token.
      (await t.auth('auditor')).authorization,
    ]) {
      const refused = await t.request({
        method: 'GET',
        url: '/metrics',
        headers: authorization ? { authorization } : {},
      });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect(refused.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
      expect(refused.body).not.toContain('process_resident_memory_bytes');
    }
    const scraped = await t.request({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.body).toContain('process_resident_memory_bytes');
  });

  it('DOCS_ENABLED=false: /docs and /docs-json are not served (404), the API still is', async () => {
    expect((await t.request({ method: 'GET', url: '/docs-json' })).statusCode).toBe(200);
    await t.close();
    t = await startApp({ ...(await freshEnv('sqlite')), DOCS_ENABLED: 'false' });
    for (const url of ['/docs', '/docs/', '/docs-json']) {
      const response = await t.request({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    const programmes = await t.request({
      method: 'GET',
      url: '/v1/programmes',
      headers: await t.auth('dashboard'),
    });
    expect(programmes.statusCode).toBe(200);
  });

  it('GET /dashboard: the page, whose bundled script reads the API with the token given to it; nothing from a CDN', async () => {
    const response = await t.request({ method: 'GET', url: '/dashboard' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.body).toContain('<title>Programme dashboard</title>');
    expect(response.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const script = await t.request({ method: 'GET', url: '/dashboard/assets/dashboard.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toContain('text/javascript');
    expect(script.body).toContain('/v1/programmes');
    expect(script.body).toContain('/changes');
    const missing = await t.request({ method: 'GET', url: '/dashboard/assets/other.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
  });
});
