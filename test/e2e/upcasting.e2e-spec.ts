import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CommandBus } from '@nestjs/cqrs';
import { seedDemoCohort } from '../../src/cli/demo-cohort';
import { loadConfig } from '../../src/config/app-config';
import {
  computeEventHash,
  PersonalDataVault,
  verifyChains,
  type JsonValue,
  type RecordedEvent,
} from '../../src/event-sourcing';
import { FixedClock } from '../../src/shared/clock';
import { createEventStoreAdapter } from '../../src/stores/event-store.module';
import { freshEnv, startApp, type TestApp } from '../support/app';

const run = promisify(execFile);
const root = join(__dirname, '../..');
const P = 'cast-dtdp-2025';

/** The log the release before sealing wrote (test/fixtures/README.md), as it exported it. */
const FIXTURE: RecordedEvent[] = readFileSync(
  join(__dirname, '../fixtures/pre-sealing-log.ndjson'),
  'utf8',
)
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as RecordedEvent);

const head = FIXTURE.length;
const enrolments = FIXTURE.filter((event) => event.type === 'ParticipantEnrolled');
const participants = enrolments.map((event) => ({
  id: event.data.participantId as string,
  sub: event.data.participantSub as string,
}));
const [liWei, zhangMin] = participants as [
  { id: string; sub: string },
  { id: string; sub: string },
];
const applicationIds = FIXTURE.filter((event) => event.type === 'ApplicationSubmitted').map(
  (event) => event.data.applicationId as string,
);
/** Zhang Min's last activity, left pending by the demo. */
const pending = FIXTURE.at(-2)!.data.activityId as string;

/**
 * Writes the fixture through the bare adapter, each event at the instant it was recorded, so the
 * stored log is the one the old release wrote, byte for byte (same hashes).
 */
async function writeLegacyLog(env: NodeJS.ProcessEnv): Promise<void> {
  const adapter = createEventStoreAdapter(loadConfig(env));
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  try {
    for (const event of FIXTURE) {
      jest.setSystemTime(new Date(event.recordedAt));
      await adapter.append(
        event.streamName,
        [{ type: event.type, data: event.data, metadata: event.metadata, eventId: event.eventId }],
        { expectedRevision: event.revision === 0 ? 'no_stream' : event.revision - 1 },
      );
    }
  } finally {
    jest.useRealTimers();
    await adapter.close();
  }
}

const STUDENT = /^demo-(?!staff|admin)/;
const isStudent = (actor: JsonValue): actor is { role: string; sub: string } =>
  typeof actor === 'object' &&
  actor !== null &&
  !Array.isArray(actor) &&
  ['applicant', 'participant'].includes((actor as { role?: unknown }).role as string);
const PSEUDONYM = /^[0-9a-f]{32}$/;

/**
 * An answer with what legitimately differs between a history written before sealing and the
 * same history written now replaced by placeholders, after checking each is what it should be:
 * `subjectRef` (null before sealing, a pseudonym now), the plain `participantSub` only old
 * enrolments carry, students named by `sub` or by pseudonym in metadata, and `recordedAt` (the
 * two logs were recorded at different times). Everything else must be equal.
 */
function comparable(value: unknown, written: 'before sealing' | 'now'): unknown {
  if (Array.isArray(value)) return value.map((item) => comparable(item, written));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, JsonValue>;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(object)) {
    if (key === 'subjectRef') {
      if (written === 'before sealing') expect(child).toBeNull();
      else expect(child).toMatch(PSEUDONYM);
      copy[key] = '<subject>';
    } else if (key === 'participantSub') {
      expect(written).toBe('before sealing');
      expect(child).toMatch(STUDENT);
    } else if (key === 'recordedAt') {
      copy[key] = '<recordedAt>';
    } else if (key === 'actor' && isStudent(child)) {
      expect(child.sub).toMatch(written === 'before sealing' ? STUDENT : PSEUDONYM);
      copy[key] = { ...child, sub: '<student>' };
    } else copy[key] = comparable(child, written);
  }
  return copy;
}

describe('a log written before personal data was sealed (schema version 1)', () => {
  // Both apps read "today" as the same day, so pace and eligibility are comparable.
  const clock = () => new FixedClock(new Date('2026-07-15T10:00:00+08:00'));
  let legacy: TestApp;
  let current: TestApp;

  beforeAll(async () => {
    const env = await freshEnv('sqlite');
    await writeLegacyLog(env);
    legacy = await startApp(env, clock());
    // The same history written by today's code: the same demo commands, through the service.
    current = await startApp(await freshEnv('sqlite'), clock());
    const vault = current.app.get(PersonalDataVault);
    await vault.ready();
    await seedDemoCohort(
      current.app.get(CommandBus),
      () => Promise.resolve(false),
      (sub) => vault.pseudonym(sub),
    );
    expect(await current.store.headPosition()).toBe(head);
  }, 60_000);
  afterAll(async () => {
    await legacy?.close();
    await current?.close();
  });

  const get = async (
    t: TestApp,
    url: string,
    role: 'programme_admin' | 'auditor' = 'programme_admin',
  ) => {
    const separator = url.includes('?') ? '&' : '?';
    const response = await t.request({
      method: 'GET',
      url: `${url}${separator}minPosition=${head}`,
      headers: await t.auth(role),
    });
    expect(response.statusCode).toBe(200);
    return response.json<unknown>();
  };

  it('is stored exactly as the old release wrote it, and its chains verify on the stored form', async () => {
    const stored = await legacy.storedLog.readAll(0, 1000);
    expect(stored).toEqual(FIXTURE);
    for (const event of FIXTURE) expect(computeEventHash(event)).toBe(event.hash);
    expect(stored.every((event) => event.metadata.schemaVersion === 1)).toBe(true);
    expect(stored.some((event) => 'subjectRef' in event.data)).toBe(false);
    const report = await verifyChains(legacy.storedLog);
    expect(report).toMatchObject({ events: head, problems: [], headsChecked: true });
  });

  it('is read in the current shape by every reader: version 2 with subjectRef null where the type gained it', async () => {
    const read = await legacy.store.readAll(0, 1000);
    const logged = read.find((event) => event.type === 'ActivityLogged')!;
    expect(logged.metadata.schemaVersion).toBe(2);
    expect(logged.data).toMatchObject({ subjectRef: null, title: expect.any(String) });
    expect(read.find((event) => event.type === 'ActivityVerified')!.metadata.schemaVersion).toBe(1);
    // The hash is the stored event's: it vouches for the stored form, not for this one.
    expect(logged.hash).toBe(FIXTURE.find((event) => event.eventId === logged.eventId)!.hash);
    const audit = (await get(legacy, `/v1/audit/streams/participant-${liWei.id}`, 'auditor')) as {
      items: RecordedEvent[];
    };
    expect(audit.items[1]).toMatchObject({
      type: 'ActivityLogged',
      metadata: { schemaVersion: 2 },
      data: { subjectRef: null },
    });
  });

  it('rebuilds to the same read models as the same history written now (progress, pace, eligibility, timeline, applications, dashboard)', async () => {
    const urls = [
      `/v1/programmes/${P}/dashboard`,
      `/v1/programmes/${P}/participants?limit=100`,
      `/v1/programmes/${P}/applications?limit=100`,
      ...applicationIds.map((id) => `/v1/applications/${id}`),
      ...participants.flatMap(({ id }) => [
        `/v1/participants/${id}/progress`,
        `/v1/participants/${id}/eligibility`,
        `/v1/participants/${id}/timeline?limit=100`,
        // As-of answers fold the stream itself (as-of.ts), not the read model.
        `/v1/participants/${id}/progress?asOf=2026-04-30`,
        `/v1/participants/${id}/timeline?asOf=2026-04-30&limit=100`,
      ]),
    ];
    for (const url of urls)
      expect([url, comparable(await get(legacy, url), 'before sealing')]).toEqual([
        url,
        comparable(await get(current, url), 'now'),
      ]);
    // The figures themselves, not only their equality: Li Wei ahead, Zhang Min with one pending.
    expect(await get(legacy, `/v1/participants/${liWei.id}/progress`)).toMatchObject({
      status: 'active',
      pace: 'ahead',
      verifiedHours: { total: 122 },
      pendingHours: 0,
    });
    expect(await get(legacy, `/v1/participants/${zhangMin.id}/progress`)).toMatchObject({
      pendingHours: expect.any(Number),
    });
  });

  it('passes verification: chains on the stored form, read models against a replay of the upcast log', async () => {
    const auditor = await legacy.auth('auditor');
    const started = await legacy.request({
      method: 'POST',
      url: '/v1/audit/verifications',
      headers: auditor,
    });
    expect(started.statusCode).toBe(202);
    const { id } = started.json<{ id: string }>();
    let job: { status: string; findings: unknown[] };
    do {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = (await get(legacy, `/v1/audit/verifications/${id}`, 'auditor')) as typeof job;
    } while (job.status === 'running');
    expect(job).toMatchObject({ status: 'passed', findings: [] });
  });

  it('is folded by the deciders: a new command on an upcast stream is decided and appended in the current version', async () => {
    const staff = await legacy.auth('society_staff', { society: 'B33', sub: 'staff-b33' });
    const verified = await legacy.request({
      method: 'POST',
      url: `/v1/participants/${zhangMin.id}/activities/${pending}/verification`,
      headers: { ...staff, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(verified.statusCode).toBe(200);
    const [last] = await legacy.storedLog.readStream(`participant-${zhangMin.id}`, {
      direction: 'backwards',
      maxCount: 1,
    });
    expect(last).toMatchObject({ type: 'ActivityVerified', metadata: { schemaVersion: 1 } });
    // The student is still recognised by the plain sub the old enrolment holds.
    const self = await legacy.request({
      method: 'GET',
      url: `/v1/participants/${zhangMin.id}/progress?minPosition=${last!.position}`,
      headers: await legacy.auth('participant', { sub: zhangMin.sub }),
    });
    expect(self.statusCode).toBe(200);
    expect(self.json<{ pendingHours: number }>().pendingHours).toBe(0);
    const other = await legacy.request({
      method: 'GET',
      url: `/v1/participants/${zhangMin.id}/progress`,
      headers: await legacy.auth('participant', { sub: liWei.sub }),
    });
    expect(other.statusCode).toBe(404);
    // New personal data about them has no key to be sealed under: refused until the log is migrated.
    const logged = await legacy.request({
      method: 'POST',
      url: `/v1/participants/${zhangMin.id}/activities`,
      headers: {
        ...(await legacy.auth('participant', { sub: zhangMin.sub })),
        'content-type': 'application/json',
      },
      payload: JSON.stringify({
        pillar: 'social',
        category: 'other_social',
        title: 'Outreach day',
        occurredOn: '2026-07-01',
        hours: 4,
      }),
    });
    expect(logged.statusCode).toBe(409);
    expect(logged.json()).toMatchObject({ code: 'MIGRATION_REQUIRED' });
    // What was stored before is untouched, and the chains still verify.
    expect((await legacy.storedLog.readAll(0, head)).map((event) => event.hash)).toEqual(
      FIXTURE.map((event) => event.hash),
    );
    expect((await verifyChains(legacy.storedLog)).problems).toEqual([]);
  });

  it('answers as of a time it knew less (knownAt) from the upcast stream', async () => {
    // Recorded just before Li Wei's second activity was verified.
    const knownAt = FIXTURE.find(
      (event) => event.type === 'ActivityVerified' && event.revision === 4,
    )!.recordedAt;
    const before = new Date(Date.parse(knownAt) - 1).toISOString();
    const answer = await get(
      legacy,
      `/v1/participants/${liWei.id}/progress?knownAt=${encodeURIComponent(before)}`,
    );
    expect(answer).toMatchObject({ verifiedHours: { total: 18 }, pendingHours: 32 });
  });

  it('CLI: replay prints the current shape, export --sealed the stored form, and verify passes', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, ['-r', '@swc-node/register', join(root, 'src/cli/index.ts'), ...args], {
        cwd: root,
        env: { ...process.env, DATA_DIR: legacy.dataDir, AUTH_JWT_SECRET: '' },
        maxBuffer: 64 * 1024 * 1024,
      });
    const replay = await cli('replay', '--stream', `participant-${liWei.id}`);
    expect(replay.stdout).toContain('"subjectRef":null');
    expect(replay.stdout).toContain('"title":"National development strategy seminar"');

    const exportedLines = (args: string[]) =>
      cli('export', ...args).then(({ stdout }) =>
        stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as RecordedEvent),
      );
    const sealed = await exportedLines(['--sealed']);
    expect(sealed.slice(0, head)).toEqual(FIXTURE);
    const opened = await exportedLines([]);
    const logged = opened.find((event) => event.type === 'ActivityLogged')!;
    expect(logged.metadata.schemaVersion).toBe(2);
    expect(logged.data.subjectRef).toBeNull();

    const verified = await cli('verify');
    expect(verified.stdout).toContain('Verification OK.');
  }, 90_000);
});
