import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/app-config';
import { freshSchemaUrl } from '../support/postgres';

describe('health (HTTP)', () => {
  let dir: string;
  let app: NestFastifyApplication | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'health-'));
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(env: NodeJS.ProcessEnv): Promise<NestFastifyApplication> {
    app = await createApp(loadConfig({ DATA_DIR: dir, ...env }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    return app;
  }

  it('is live and ready on the embedded store, which it creates in DATA_DIR', async () => {
    const server = (await start({})).getHttpAdapter().getInstance();
    const live = await server.inject({ method: 'GET', url: '/health/live' });
    expect(live.statusCode).toBe(200);
    const ready = await server.inject({ method: 'GET', url: '/health/ready' });
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
    const server = (await start({ EVENT_STORE: 'postgres', DATABASE_URL: await freshSchemaUrl() }))
      .getHttpAdapter()
      .getInstance();
    expect((await server.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('is live but not ready while the store does not answer', async () => {
    const server = (
      await start({
        EVENT_STORE: 'postgres',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere',
      })
    )
      .getHttpAdapter()
      .getInstance();
    expect((await server.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    const ready = await server.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers['content-type']).toContain('application/problem+json');
    expect(ready.json()).toMatchObject({
      status: 503,
      code: 'NOT_READY',
      detail: 'Not ready: eventStore, projections did not answer.',
      checks: { eventStore: { status: 'down' } },
    });
  });
});
