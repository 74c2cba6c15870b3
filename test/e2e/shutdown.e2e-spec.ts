import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '../../src/auth/tokens';
import { DTDP_2025, programmeStream } from '../../src/programmes/domain/programme';
import { PostgresEventStore } from '../../src/stores/postgres/postgres-event-store';
import { SECRET } from '../support/app';
import { freshSchemaUrl } from '../support/postgres';
import { type ServiceProcess, startService } from '../support/service-process';
import { TcpProxy } from '../support/tcp-proxy';

type Answered = { status: number; programmeId?: string; code?: string; at: number };
type Outcome = Answered | { error: string; at: number };

// The service in its own process, as an orchestrator runs it, with its events in PostgreSQL
// behind a proxy: slowed, so that commands are still running when SIGTERM comes, or silenced,
// so that one never finishes.
describe('graceful shutdown on SIGTERM (a real process)', () => {
  let proxy: TcpProxy;
  let databaseUrl: string;
  let dataDir: string;
  let service: ServiceProcess | undefined;

  beforeEach(async () => {
    databaseUrl = await freshSchemaUrl();
    proxy = await TcpProxy.start({
      host: '127.0.0.1',
      port: Number(new URL(databaseUrl).port || 5432),
    });
    dataDir = mkdtempSync(join(tmpdir(), 'shutdown-'));
  });
  afterEach(async () => {
    service?.kill();
    service = undefined;
    await proxy.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (env: NodeJS.ProcessEnv) =>
    startService({
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      EVENT_STORE: 'postgres',
      READ_MODEL_STORE: 'sqlite',
      KEY_STORE: 'sqlite',
      DATABASE_URL: proxy.urlFor(databaseUrl),
      ...env,
    });

  // Defining a programme: a command whose outcome does not depend on today's date (the child
  // process runs on the real clock).
  async function define(baseUrl: string, programmeId: string): Promise<Outcome> {
    const token = await mintToken(
      { role: 'programme_admin', sub: 'admin-1' },
      new TextEncoder().encode(SECRET),
    );
    try {
      const response = await fetch(`${baseUrl}/v1/programmes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ ...DTDP_2025, programmeId }),
      });
      const body = (await response.json()) as { programmeId?: string; code?: string };
      return { status: response.status, ...body, at: Date.now() };
    } catch (error) {
      // Refused or reset: the service no longer takes connections.
      return { error: String(error), at: Date.now() };
    }
  }

  it('lets the commands in flight finish, keeps every acknowledged one, and exits 0 within SHUTDOWN_TIMEOUT_MS', async () => {
    const SHUTDOWN_TIMEOUT_MS = 30_000;
    service = await start({
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      REQUEST_TIMEOUT_MS: '30000',
    });
    const { baseUrl } = service;
    expect(await define(baseUrl, 'p-warm')).toMatchObject({ status: 201 });

    // Each answer from PostgreSQL comes 300 ms late: a command takes a few seconds.
    proxy.delayMs = 300;
    const inFlight = Array.from({ length: 8 }, (_, i) => define(baseUrl, `p-${i}`));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const killedAt = Date.now();
    service.child.kill('SIGTERM');
    // A command sent once the service has handled the signal is not taken on.
    await service.waitForOutput('SIGTERM: no longer accepting requests');
    const late = await define(baseUrl, 'p-late');
    const outcomes = await Promise.all(inFlight);
    const exit = await service.exited;

    expect(exit.code).toBe(0);
    expect(exit.at - killedAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect('status' in late ? late.status : 'refused').not.toBe(201);
    if ('status' in late) expect(late).toMatchObject({ status: 503, code: 'SHUTTING_DOWN' });
    // Requests that were running when the signal came were answered, after it, and not refused.
    const acknowledged = outcomes.filter(
      (outcome): outcome is Answered & { programmeId: string } =>
        'status' in outcome && outcome.status === 201,
    );
    expect(acknowledged.length).toBe(outcomes.length);
    expect(acknowledged.some((outcome) => outcome.at > killedAt)).toBe(true);
    expect(service.output()).toContain('SIGTERM: no longer accepting requests');
    expect(service.output()).toMatch(/Shut down in \d+ ms\./);

    proxy.delayMs = 0;
    const log = new PostgresEventStore({ connectionString: databaseUrl });
    try {
      for (const { programmeId } of acknowledged) {
        const events = await log.readStream(programmeStream(programmeId));
        expect(events.map((event) => event.type)).toEqual(['ProgrammeDefined']);
      }
    } finally {
      await log.close();
    }
  }, 120_000);

  it('exits 1 once SHUTDOWN_TIMEOUT_MS has passed with a request still running', async () => {
    service = await start({ SHUTDOWN_TIMEOUT_MS: '1500', REQUEST_TIMEOUT_MS: '60000' });
    expect(await define(service.baseUrl, 'p-warm')).toMatchObject({ status: 201 });

    // PostgreSQL stops answering: the next command hangs (until pg's read timeout, ~50 s here).
    proxy.silence();
    const hanging = define(service.baseUrl, 'p-stuck');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const killedAt = Date.now();
    service.child.kill('SIGTERM');
    const exit = await service.exited;

    expect(exit.code).toBe(1);
    // Bounded by the shutdown timeout, not by the stuck request (generous for a loaded machine).
    expect(exit.at - killedAt).toBeLessThan(15_000);
    expect(service.output()).toContain('Shutdown did not finish within 1500 ms; exiting with 1.');
    expect(await hanging).toMatchObject({ error: expect.any(String) });
  }, 120_000);
});
