import { Client } from 'pg';
import { loadConfig } from '../../src/config/app-config';
import { createEventStore } from '../../src/stores/event-store.module';
import { EVENT_SCHEMAS } from '../../src/event-schemas';
import { testEvent } from '../support/events';
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

  it('is not ready while a projection cannot commit at all (a table gone), and sets no event aside meanwhile', async () => {
    const env = await freshEnv('postgres');
    t = await startApp(env);
    expect((await get('/health/ready')).statusCode).toBe(200);
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    try {
      await db.query('ALTER TABLE rm_documents RENAME TO rm_documents_away');
      const events = createEventStore(loadConfig(env), EVENT_SCHEMAS);
      try {
        await events.append('programme-p-1', [
          testEvent('ProgrammeDefined', { programmeId: 'p-1' }),
        ]);
      } finally {
        await events.close();
      }
      let ready = await get('/health/ready');
      for (let i = 0; i < 400 && ready.statusCode === 200; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        ready = await get('/health/ready');
      }
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ code: 'NOT_READY' });
      const auditor = await get('/health/ready', await t.auth('auditor'));
      expect(auditor.json()).toMatchObject({
        detail: 'Not ready: projections did not answer.',
        checks: {
          eventStore: { status: 'up' },
          projections: {
            status: 'down',
            message: expect.stringMatching(
              /^programmes failing since \S+ \(\d+ attempts\): 42P01 relation "rm_documents" does not exist/,
            ),
          },
        },
      });
      const metrics = await get('/metrics');
      expect(metrics.body).toMatch(/^projections_failed 1$/m);
      expect(metrics.body).toMatch(/^projection_retries_total\{projection="programmes"\} [1-9]/m);
      expect((await db.query('SELECT count(*)::int AS n FROM rm_dead_letters')).rows).toEqual([
        { n: 0 },
      ]);
    } finally {
      await db.query('ALTER TABLE IF EXISTS rm_documents_away RENAME TO rm_documents');
      await db.end();
    }
  });
});
