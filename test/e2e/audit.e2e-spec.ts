import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { enrolParticipant } from '../support/participants';

type Report = {
  ok: boolean;
  log: {
    events: number;
    problems: Array<{ streamName: string; revision: number | null; problem: string }>;
  };
  readModels: {
    readModels: Array<{ name: string }>;
    problems: Array<{ projection: string; key: string | null; problem: string }>;
  };
};

describe.each<StoreKind>(['sqlite', 'postgres'])('audit over HTTP (%s)', (kind) => {
  let t: TestApp;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    env = await freshEnv(kind);
    t = await startApp(env);
  });
  afterEach(async () => {
    await t.close();
  });

  const post = async (url: string, headers: Record<string, string>, payload: unknown = {}) =>
    t.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });
  const get = (url: string, headers: Record<string, string>) =>
    t.request({ method: 'GET', url, headers });
  const staff = () => t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });

  // A participant with two verified activities; returns its id and the last position.
  async function participant(): Promise<{ id: string; position: number }> {
    const id = await enrolParticipant(t, { today: '2026-07-02T10:00:00+08:00' });
    let position = 0;
    for (const title of ['Conference on magnet materials', 'Seminar on refining']) {
      const logged = await post(`/v1/participants/${id}/activities`, await staff(), {
        pillar: 'professional',
        category: 'international_conference',
        title,
        occurredOn: '2026-04-20',
        hours: 16,
      });
      const { activityId } = logged.json<{ activityId: string }>();
      const verified = await post(
        `/v1/participants/${id}/activities/${activityId}/verification`,
        await staff(),
      );
      position = verified.json<{ position: number }>().position;
    }
    return { id, position };
  }

  const verify = async () => {
    const response = await post('/v1/audit/verification', await t.auth('auditor'));
    expect(response.statusCode).toBe(200);
    return response.json<Report>();
  };

  // Stops the app, changes the store underneath it as an intruder would, and starts it again.
  async function tamper(change: (stream: string) => Promise<void>, stream: string) {
    await t.close(false);
    await change(stream);
    t = await startApp(env);
  }

  async function sql(statement: string, params: unknown[]): Promise<void> {
    if (kind === 'sqlite') {
      const db = new Database(join(t.dataDir, 'events.sqlite'));
      // $1, $2 become @p1, @p2: named, so $1 may appear twice.
      const named = statement.replace(/es_events/g, 'events').replace(/\$(\d)/g, '@p$1');
      db.prepare(named).run(Object.fromEntries(params.map((value, i) => [`p${i + 1}`, value])));
      db.close();
    } else {
      const client = new Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      await client.query(statement, params);
      await client.end();
    }
  }

  it('serves streams and the log with their hashes, to auditors only', async () => {
    const { id } = await participant();
    const auditor = await t.auth('auditor');
    const stream = await get(`/v1/audit/streams/participant-${id}?limit=2`, auditor);
    expect(stream.statusCode).toBe(200);
    const body = stream.json<{
      items: Array<{ revision: number; hash: string; prevHash: string | null; metadata: object }>;
      nextRevision: number;
    }>();
    expect(body.items.map((event) => event.revision)).toEqual([0, 1]);
    expect(body.items[1]!.prevHash).toBe(body.items[0]!.hash);
    expect(body.items[0]!.metadata).toMatchObject({ actor: { role: 'programme_admin' } });
    expect(body.nextRevision).toBe(2);

    const log = await get('/v1/audit/events?fromPosition=2&limit=3', auditor);
    const page = log.json<{ items: Array<{ position: number }>; nextPosition: number }>();
    expect(page.items.map((event) => event.position)).toEqual([2, 3, 4]);
    expect(page.nextPosition).toBe(5);

    expect((await get('/v1/audit/streams/participant-nope', auditor)).statusCode).toBe(404);
    expect((await get('/v1/audit/events?limit=5000', auditor)).statusCode).toBe(400);
    for (const role of ['programme_admin', 'society_staff', 'dashboard'] as const) {
      const headers = await t.auth(role, role === 'society_staff' ? { society: 'B33' } : {});
      expect((await get('/v1/audit/events', headers)).statusCode).toBe(403);
      expect((await post('/v1/audit/verification', headers)).statusCode).toBe(403);
    }
  });

  it('verifies an untouched store as sound', async () => {
    const { id, position } = await participant();
    await get(`/v1/participants/${id}/progress?minPosition=${position}`, await staff());
    const report = await verify();
    expect(report.log.problems).toEqual([]);
    expect(report.readModels.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.log.events).toBe(position);
    expect(report.readModels.readModels.map((model) => model.name).sort()).toEqual([
      'applications',
      'programmes',
      'progress',
      'timeline',
    ]);
  });

  it('names the stream and revision of an event changed by one byte in the stored data', async () => {
    const { id, position } = await participant();
    await get(`/v1/participants/${id}/progress?minPosition=${position}`, await staff());
    const stream = `participant-${id}`;
    const revision = 3; // the second activity's ActivityLogged
    await tamper(async () => {
      if (kind === 'sqlite') {
        // One byte of the file itself, not an UPDATE: "Seminar" becomes "Seminas".
        const file = join(t.dataDir, 'events.sqlite');
        const bytes = readFileSync(file);
        const at = bytes.indexOf('Seminar on refining');
        expect(at).toBeGreaterThan(0);
        expect(bytes.indexOf('Seminar on refining', at + 1)).toBe(-1);
        bytes[at + 6] = 's'.charCodeAt(0);
        writeFileSync(file, bytes);
      } else {
        await sql(
          "UPDATE es_events SET data = replace(data::text, 'Seminar', 'Seminas')::json WHERE stream_name = $1 AND revision = $2",
          [stream, revision],
        );
      }
    }, stream);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.log.problems).toEqual([
      expect.objectContaining({
        streamName: stream,
        revision,
        problem: expect.stringContaining('does not match its hash'),
      }),
    ]);
    // The timeline shows the title as recorded; a replay of the changed log no longer agrees.
    expect(report.readModels.problems).toContainEqual(
      expect.objectContaining({ projection: 'timeline', key: expect.stringContaining(id) }),
    );
  });

  it('names the stream and revision when the last event of a stream is deleted', async () => {
    const { id, position } = await participant();
    await get(`/v1/participants/${id}/progress?minPosition=${position}`, await staff());
    const stream = `participant-${id}`;
    await tamper(
      (name) =>
        sql(
          'DELETE FROM es_events WHERE stream_name = $1 AND revision = (SELECT MAX(revision) FROM es_events WHERE stream_name = $1)',
          [name],
        ),
      stream,
    );
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.log.problems).toContainEqual(
      expect.objectContaining({
        streamName: stream,
        revision: 4,
        problem: expect.stringContaining('events at its end were removed'),
      }),
    );
    // Its progress was built with the deleted verification: 32 verified hours, a replay has 16.
    expect(report.readModels.problems).toContainEqual(
      expect.objectContaining({ projection: 'progress', key: id }),
    );
  });

  it("names a read-model row changed behind the projections' back", async () => {
    const { id, position } = await participant();
    await get(`/v1/participants/${id}/progress?minPosition=${position}`, await staff());
    await tamper(async () => {
      if (kind === 'sqlite') {
        const db = new Database(join(t.dataDir, 'read-models.sqlite'));
        db.prepare(
          "UPDATE rm_documents SET doc = json_set(doc, '$.requiredHours', 24) WHERE projection = 'progress' AND key = ?",
        ).run(id);
        db.close();
      } else {
        const client = new Client({ connectionString: env.DATABASE_URL });
        await client.connect();
        await client.query(
          "UPDATE rm_documents SET doc = jsonb_set(doc, '{requiredHours}', '24') WHERE projection = 'progress' AND key = $1",
          [id],
        );
        await client.end();
      }
    }, `participant-${id}`);
    const report = await verify();
    expect(report.log.problems).toEqual([]);
    expect(report.readModels.problems).toEqual([
      { projection: 'progress', key: id, problem: 'differs from a fresh replay of the log' },
    ]);
  });
});
