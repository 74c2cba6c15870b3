import type { LightMyRequestResponse } from 'fastify';
import { DTDP_2025 } from '../../src/programmes/domain/programme';
import { PostgresEventStore } from '../../src/stores/postgres/postgres-event-store';
import { freshEnv, startApp, type TestApp } from '../support/app';
import { eligibleForm } from '../support/programme-fixtures';
import { freshSchemaUrl } from '../support/postgres';
import { TcpProxy } from '../support/tcp-proxy';

const P = DTDP_2025.programmeId;
const REQUEST_TIMEOUT_MS = 4000;
// "Never a hang past REQUEST_TIMEOUT_MS", with room for a loaded two-core machine.
const ANSWER_BOUND_MS = REQUEST_TIMEOUT_MS + 4000;

async function eventually<T>(
  attempt: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await attempt();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// The events in PostgreSQL behind a proxy the test cuts; read models, keys and idempotency
// records in SQLite, so queries have something to answer from while PostgreSQL is away.
describe('PostgreSQL outage (events in PostgreSQL, read models and keys in SQLite)', () => {
  let proxy: TcpProxy;
  let databaseUrl: string;
  let t: TestApp;

  beforeEach(async () => {
    databaseUrl = await freshSchemaUrl();
    proxy = await TcpProxy.start({
      host: '127.0.0.1',
      port: Number(new URL(databaseUrl).port || 5432),
    });
    t = await startApp({
      ...(await freshEnv('sqlite')),
      EVENT_STORE: 'postgres',
      READ_MODEL_STORE: 'sqlite',
      KEY_STORE: 'sqlite',
      DATABASE_URL: proxy.urlFor(databaseUrl),
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
  });
  afterEach(async () => {
    proxy.restore();
    await t.close();
    await proxy.close();
  });

  const submit = async (sub: string, key?: string) => {
    const started = Date.now();
    const response = await t.request({
      method: 'POST',
      url: `/v1/programmes/${P}/applications`,
      headers: {
        'content-type': 'application/json',
        ...(key ? { 'idempotency-key': key } : {}),
        ...(await t.auth('applicant', { sub })),
      },
      payload: JSON.stringify(eligibleForm),
    });
    return { response, elapsed: Date.now() - started };
  };
  const readApplication = async (sub: string, id: string, minPosition?: number) =>
    t.request({
      method: 'GET',
      url: `/v1/applications/${id}${minPosition ? `?minPosition=${minPosition}` : ''}`,
      headers: await t.auth('applicant', { sub }),
    });
  const ready = () => t.request({ method: 'GET', url: '/health/ready' });
  type Submitted = { applicationId: string; position: number };

  function expectUnavailable(response: LightMyRequestResponse): void {
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.headers['retry-after']).toBe('5');
    const problem = response.json<{ code: string; detail: string }>();
    expect(['STORE_UNAVAILABLE', 'REQUEST_TIMEOUT']).toContain(problem.code);
    // Never the connection string, host or port.
    expect(response.body).not.toMatch(/127\.0\.0\.1|postgres:\/\/|ECONN|:\d{4,5}\b/);
  }

  it('while PostgreSQL is away: commands 503 with Retry-After, reads from SQLite answer, not ready; afterwards all resumes by itself and nothing is lost', async () => {
    const before = await submit('student-a');
    expect(before.response.statusCode).toBe(201);
    const a = before.response.json<Submitted>();
    expect((await readApplication('student-a', a.applicationId, a.position)).statusCode).toBe(200);

    // PostgreSQL refuses connections.
    proxy.refuse();
    const refused = await submit('student-b', 'key-b');
    expectUnavailable(refused.response);
    expect(refused.response.json()).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      detail: 'The event store is unavailable; try again shortly.',
    });
    expect(refused.elapsed).toBeLessThan(ANSWER_BOUND_MS);
    const notReady = await ready();
    expect(notReady.statusCode).toBe(503);
    expect(notReady.headers['retry-after']).toBe('5');
    // The read model is in SQLite: queries keep answering.
    const read = await readApplication('student-a', a.applicationId);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ applicationId: a.applicationId });

    // PostgreSQL (or the network) stops answering altogether: still an answer in time.
    proxy.silence();
    const silent = await submit('student-c');
    expectUnavailable(silent.response);
    expect(silent.elapsed).toBeLessThan(ANSWER_BOUND_MS);
    expect((await readApplication('student-a', a.applicationId)).statusCode).toBe(200);

    // Back: no restart. The refused command, retried with its Idempotency-Key, now runs.
    proxy.restore();
    const retried = await submit('student-b', 'key-b');
    expect(retried.response.statusCode).toBe(201);
    const b = retried.response.json<Submitted>();
    const after = await submit('student-c');
    expect(after.response.statusCode).toBe(201);
    const c = after.response.json<Submitted>();
    await eventually(ready, (response) => response.statusCode === 200);

    // The projections caught up (their subscription outlived the outage): every command is
    // in the read models, and in the log exactly once.
    for (const [sub, submitted] of [
      ['student-a', a],
      ['student-b', b],
      ['student-c', c],
    ] as const)
      expect((await readApplication(sub, submitted.applicationId, c.position)).statusCode).toBe(
        200,
      );
    const log = new PostgresEventStore({ connectionString: databaseUrl });
    try {
      const submittedIds = (await log.readAll(0, 1000))
        .filter((event) => event.type === 'ApplicationSubmitted')
        .map((event) => event.data.applicationId);
      expect(submittedIds.sort()).toEqual([a, b, c].map((s) => s.applicationId).sort());
    } finally {
      await log.close();
    }
  });

  it('a command that outlives REQUEST_TIMEOUT_MS is unacknowledged, not lost: retried with its Idempotency-Key it returns its own outcome, written once', async () => {
    expect((await submit('student-warm')).response.statusCode).toBe(201);
    // Every answer from PostgreSQL comes a second late: each statement well within its own
    // bounds, the command's several round trips together past the request's.
    proxy.delayMs = REQUEST_TIMEOUT_MS / 4;
    const slow = await submit('student-slow', 'key-slow');
    expect(slow.response.statusCode).toBe(503);
    expect(slow.response.json()).toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(slow.response.headers['retry-after']).toBe('5');
    expect(slow.elapsed).toBeLessThan(ANSWER_BOUND_MS);
    proxy.delayMs = 0;

    // Retried while still running: 409 in progress; once it finished, its own answer.
    const replayed = await eventually(
      async () => (await submit('student-slow', 'key-slow')).response,
      (response) => response.statusCode !== 409,
    );
    expect(replayed.statusCode).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    const { applicationId } = replayed.json<Submitted>();

    const log = new PostgresEventStore({ connectionString: databaseUrl });
    try {
      const events = (await log.readAll(0, 1000)).filter(
        (event) => event.data.applicationId === applicationId,
      );
      expect(events.map((event) => event.type)).toEqual(['ApplicationSubmitted']);
    } finally {
      await log.close();
    }
  });
});
