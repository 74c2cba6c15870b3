import { freshEnv, startApp, type TestApp } from '../support/app';

describe('operations: metrics and the dashboard page', () => {
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

  it('GET /dashboard: the page, which reads the dashboard API with the token given to it', async () => {
    const response = await t.request({ method: 'GET', url: '/dashboard' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).toContain('<title>Programme dashboard</title>');
    expect(response.body).toContain("'/dashboard'");
    expect(response.body).toContain("'/v1/programmes'");
  });
});
