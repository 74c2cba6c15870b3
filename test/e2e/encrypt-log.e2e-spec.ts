import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  PUBLIC_KEY_FILE,
  checkDigest,
  createDigest,
  loadOrCreateDigestKeys,
} from '../../src/audit/digest';
import { REPORT_FORMAT } from '../../src/cli/encrypt-log';
import { loadConfig } from '../../src/config/app-config';
import {
  type EventStore,
  type JsonObject,
  type NewEvent,
  PersonalDataVault,
  type RecordedEvent,
  STORED_EVENT_LOG,
  type StoredEventLog,
  SUBJECT_KEY_STORE,
  type SubjectKeyStore,
  isSealed,
  valuesAtPath,
  verifyChains,
} from '../../src/event-sourcing';
import { PERSONAL_DATA_POLICY } from '../../src/personal-data';
import { EVENT_SCHEMAS } from '../../src/event-schemas';
import {
  STUDENT_ROLES,
  createEventStore,
  createEventStoreAdapter,
} from '../../src/stores/event-store.module';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { dumpSchema, freshSchemaUrl } from '../support/postgres';
import { eligibleForm } from '../support/programme-fixtures';

const run = promisify(execFile);
const root = join(__dirname, '../..');
const P = 'cast-dtdp-2025';
const json = { 'content-type': 'application/json' };

// Text that can only come from these people's data: found in the new log's storage, it is a leak.
const NAME = 'Ouyang Xuefeng-Migration';
const INSTITUTION = 'Baotou Institute of Rare Earth Migration Studies';
const TITLE = 'Seminar on copy-transform, chaired by Ouyang';
const OTHER_NAME = 'Gongsun Lan-Migration';
const DECLINE_REASON = `Outside the society's scope, as ${OTHER_NAME} agreed`;
const REJECT_REASON = 'No sign-in sheet from Ouyang';
const NEW_NAME = 'Shangguan Mei-AfterUpgrade';
const OUYANG = 'student-ouyang-mig';
const OTHER = 'student-gongsun-mig';
const NEWCOMER = 'student-shangguan-mig';
const PLAINTEXT = [
  NAME,
  INSTITUTION,
  TITLE,
  OTHER_NAME,
  DECLINE_REASON,
  REJECT_REASON,
  NEW_NAME,
  OUYANG,
  OTHER,
  NEWCOMER,
];

/** Every file under a folder, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** A schema's rows as `pg_dump` writes them, without the random token each dump carries. */
async function rowsOf(url: string): Promise<string> {
  return (await dumpSchema(url)).replace(/^\\(un)?restrict .*$/gm, '');
}

/** Each file's SHA-256, by path: what "unchanged" means for a folder. */
function fingerprint(dir: string): Record<string, string> {
  return Object.fromEntries(
    filesUnder(dir).map((file) => [
      file,
      createHash('sha256').update(readFileSync(file)).digest('hex'),
    ]),
  );
}

async function readAll(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (let after = 0; ;) {
    const page = await store.readAll(after, 1000);
    if (page.length === 0) return events;
    events.push(...page);
    after = page[page.length - 1]!.position;
  }
}

// The CLI as operators run it, from the sources; `cwd` is where PostgreSQL's report goes.
function cli(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]) {
  return run(
    process.execPath,
    ['-r', require.resolve('@swc-node/register'), join(root, 'src/cli/index.ts'), ...args],
    // Compiled with the project's settings wherever it runs.
    { cwd, env: { ...process.env, ...env, SWC_NODE_PROJECT: join(root, 'tsconfig.json') } },
  );
}

async function post(
  t: TestApp,
  url: string,
  headers: Record<string, string>,
  payload: unknown = {},
): Promise<Record<string, unknown>> {
  const response = await t.request({
    method: 'POST',
    url,
    headers: { ...json, ...headers },
    payload: JSON.stringify(payload),
  });
  if (response.statusCode >= 300)
    throw new Error(`POST ${url}: ${response.statusCode} ${response.body}`);
  return response.json<Record<string, unknown>>();
}

/**
 * A log "written by the version before encryption": the service of today drives a realistic
 * history (applications, a decline, a recommendation, a match, an enrolment, activities logged,
 * verified and rejected), and every event is then turned back into the shape the old code
 * wrote (as `git log -p` shows it): personal values in plaintext, no `subjectRef`,
 * `ParticipantEnrolled.participantSub` and student actors as the plain `sub`. Those events are
 * appended, in order and with their ids, through the raw adapter (no sealing) to `env`'s store.
 */
async function writeOldLog(
  kind: StoreKind,
  env: NodeJS.ProcessEnv,
): Promise<{ ouyangApplication: string; otherApplication: string; participant: string }> {
  const t = await startApp(await freshEnv(kind));
  try {
    const ouyang = await t.auth('applicant', { sub: OUYANG });
    const staff = await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
    const admin = await t.auth('programme_admin', { sub: 'admin-hq' });
    const { applicationId: ouyangApplication } = await post(
      t,
      `/v1/programmes/${P}/applications`,
      ouyang,
      { ...eligibleForm, fullName: NAME, institution: INSTITUTION },
    );
    const { applicationId: otherApplication } = await post(
      t,
      `/v1/programmes/${P}/applications`,
      await t.auth('applicant', { sub: OTHER }),
      { ...eligibleForm, fullName: OTHER_NAME },
    );
    await post(t, `/v1/applications/${String(otherApplication)}/decline`, staff, {
      reason: DECLINE_REASON,
    });
    await post(t, `/v1/applications/${String(ouyangApplication)}/recommendation`, staff, {
      note: `Strong: ${NAME}`,
    });
    await post(t, `/v1/applications/${String(ouyangApplication)}/match`, admin, {
      mentoringSocietyCode: 'B33',
    });
    const { participantId } = await post(
      t,
      `/v1/applications/${String(ouyangApplication)}/enrolment`,
      admin,
      { startDate: '2026-01-01' },
    );
    t.clock.set('2026-03-01');
    const participant = await t.auth('participant', { sub: OUYANG });
    const activity = (title: string) => ({
      pillar: 'social',
      category: 'other_social',
      title,
      occurredOn: '2026-02-10',
      hours: 6,
      evidence: `signed by ${NAME}`,
    });
    const logged = await post(
      t,
      `/v1/participants/${String(participantId)}/activities`,
      participant,
      activity(TITLE),
    );
    await post(
      t,
      `/v1/participants/${String(participantId)}/activities/${String(logged.activityId)}/verification`,
      staff,
    );
    const second = await post(
      t,
      `/v1/participants/${String(participantId)}/activities`,
      participant,
      activity('A second seminar'),
    );
    await post(
      t,
      `/v1/participants/${String(participantId)}/activities/${String(second.activityId)}/rejection`,
      staff,
      { reason: REJECT_REASON },
    );

    // A vault of its own on the app's key store: the same secret and keys, ready to use.
    const vault = await PersonalDataVault.open(t.app.get<SubjectKeyStore>(SUBJECT_KEY_STORE));
    const subs = new Map([OUYANG, OTHER].map((sub) => [vault.pseudonym(sub), sub]));
    const written = await vault.unseal(await readAll(t.store));
    // Through the bare adapter, in the shapes and version the old release wrote.
    const old = createEventStoreAdapter(loadConfig(env));
    try {
      for (const event of written) {
        const { subjectRef, ...data } = event.data as JsonObject & { subjectRef?: string };
        const sub = subjectRef === undefined ? undefined : subs.get(subjectRef);
        const actor = event.metadata.actor;
        const oldEvent: NewEvent = {
          eventId: event.eventId,
          type: event.type,
          data:
            event.type === 'ParticipantEnrolled' ? { ...data, participantSub: sub ?? null } : data,
          metadata: {
            ...event.metadata,
            schemaVersion: 1,
            actor: STUDENT_ROLES.has(actor.role)
              ? { ...actor, sub: subs.get(actor.sub) ?? actor.sub }
              : actor,
          },
        };
        await old.append(event.streamName, [oldEvent], {
          expectedRevision: event.revision === 0 ? 'no_stream' : event.revision - 1,
        });
      }
    } finally {
      await old.close();
    }
    return {
      ouyangApplication: String(ouyangApplication),
      otherApplication: String(otherApplication),
      participant: String(participantId),
    };
  } finally {
    await t.close();
  }
}

describe.each<StoreKind>(['sqlite', 'postgres'])('encrypt-log (%s)', (kind) => {
  let oldEnv: NodeJS.ProcessEnv;
  let newEnv: NodeJS.ProcessEnv;
  let target: string[];
  let workDir: string;
  let ids: Awaited<ReturnType<typeof writeOldLog>>;
  let newcomerApplication: string;
  let oldEvents: RecordedEvent[];
  let oldDigestFile: string;
  let oldFiles: Record<string, string>;
  let oldDump: string;
  let output: { stdout: string; stderr: string };

  beforeAll(async () => {
    oldEnv = await freshEnv(kind);
    workDir = mkdtempSync(join(tmpdir(), 'encrypt-log-'));
    ids = await writeOldLog(kind, oldEnv);

    // The upgraded service ran on the old log for a while: what it wrote is sealed already,
    // under keys in the old key store; the old applications cannot be erased yet.
    const upgraded = await startApp(oldEnv);
    try {
      const { applicationId } = await post(
        upgraded,
        `/v1/programmes/${P}/applications`,
        await upgraded.auth('applicant', { sub: NEWCOMER }),
        { ...eligibleForm, fullName: NEW_NAME },
      );
      newcomerApplication = String(applicationId);
      const refused = await upgraded.request({
        method: 'POST',
        url: `/v1/applications/${ids.ouyangApplication}/erasure`,
        headers: { ...json, ...(await upgraded.auth('programme_admin')) },
        payload: JSON.stringify({ reason: 'Request under PIPL Art. 47' }),
      });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'MIGRATION_REQUIRED' });
      oldEvents = await readAll(upgraded.store);
      // An auditor signed a digest of the old log.
      const digest = await createDigest(
        upgraded.app.get<StoredEventLog>(STORED_EVENT_LOG),
        loadOrCreateDigestKeys(upgraded.dataDir),
      );
      oldDigestFile = join(workDir, 'old-digest.json');
      writeFileSync(oldDigestFile, JSON.stringify(digest));
    } finally {
      await upgraded.close(false);
    }
    expect(JSON.stringify(oldEvents)).toContain(NAME);
    expect(JSON.stringify(oldEvents)).not.toContain(NEW_NAME);

    oldFiles = fingerprint(oldEnv.DATA_DIR!);
    oldDump = kind === 'postgres' ? await rowsOf(oldEnv.DATABASE_URL!) : '';
    if (kind === 'sqlite') {
      const dir = join(workDir, 'new-data');
      target = ['--to-data-dir', dir];
      newEnv = { ...oldEnv, DATA_DIR: dir };
    } else {
      const url = await freshSchemaUrl();
      target = ['--to-database-url', url];
      newEnv = { ...oldEnv, DATABASE_URL: url };
    }
    output = await cli(oldEnv, workDir, 'encrypt-log', ...target);
  }, 180_000);

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
    rmSync(oldEnv.DATA_DIR!, { recursive: true, force: true });
  });

  const reportFile = () =>
    kind === 'sqlite'
      ? join(newEnv.DATA_DIR!, 'encrypt-log-report.json')
      : join(workDir, 'encrypt-log-report.json');
  const digestFile = () =>
    /Signed digest of the new log: (\S+) /.exec(output.stdout)?.[1] ?? 'no digest printed';

  it('prints what it did and what to do next', () => {
    expect(output.stdout).toContain(
      `Copied ${oldEvents.length} events in ${new Set(oldEvents.map((e) => e.streamName)).size} streams`,
    );
    expect(output.stdout).toContain(
      `Mapping report (old → new position and hash of every event): ${reportFile()}`,
    );
    expect(output.stdout).toMatch(
      /Sealed \d+ personal values of 3 data subjects \(\d+ sealed already\)/,
    );
    expect(output.stdout).toContain('The old log was not changed. Next:');
    expect(output.stdout).toContain('verify --digest');
    expect(output.stdout).toContain('delete the old log');
    expect(output.stderr).toMatch(/encrypt-log \[[^\]]+\] 100%/);
  });

  it('leaves the old log, its keys and its folder exactly as they were; its digest holds for it only', async () => {
    expect(fingerprint(oldEnv.DATA_DIR!)).toEqual(oldFiles);
    if (kind === 'postgres') expect(await rowsOf(oldEnv.DATABASE_URL!)).toBe(oldDump);
    const oldStore = createEventStore(loadConfig(oldEnv), EVENT_SCHEMAS);
    const newStore = createEventStore(loadConfig(newEnv), EVENT_SCHEMAS);
    try {
      const digest = JSON.parse(readFileSync(oldDigestFile, 'utf8')) as unknown;
      const publicKey = createPublicKey(readFileSync(join(oldEnv.DATA_DIR!, PUBLIC_KEY_FILE)));
      expect(await checkDigest(oldStore.stored, digest, publicKey)).toMatchObject({
        signatureValid: true,
        logExtendsDigest: true,
      });
      expect(await checkDigest(newStore.stored, digest, publicKey)).toMatchObject({
        signatureValid: true,
        logExtendsDigest: false,
      });
    } finally {
      await oldStore.close();
      await newStore.close();
    }
  });

  it('writes a new log that verifies, extends its own signed digest, and keeps ids, revisions and recordedAt', async () => {
    const store = createEventStore(loadConfig(newEnv), EVENT_SCHEMAS);
    try {
      const report = await verifyChains(store.stored);
      expect(report.problems).toEqual([]);
      expect(report.events).toBe(oldEvents.length);
      const digest = JSON.parse(readFileSync(digestFile(), 'utf8')) as unknown;
      const keyDir = kind === 'sqlite' ? newEnv.DATA_DIR! : oldEnv.DATA_DIR!;
      const publicKey = createPublicKey(readFileSync(join(keyDir, PUBLIC_KEY_FILE)));
      expect(await checkDigest(store.stored, digest, publicKey)).toMatchObject({
        signatureValid: true,
        logExtendsDigest: true,
        problems: [],
      });
      const events = await readAll(store);
      const kept = (event: RecordedEvent) => ({
        eventId: event.eventId,
        streamName: event.streamName,
        revision: event.revision,
        type: event.type,
        recordedAt: event.recordedAt,
        correlationId: event.metadata.correlationId,
        role: event.metadata.actor.role,
      });
      expect(events.map(kept)).toEqual(oldEvents.map(kept));
      // Hashes cover no position: the events that needed no change, first in their streams
      // (the programme, about no one, and the application written after the upgrade), keep
      // their hashes; every other event changed.
      const hashes = new Set(oldEvents.map((event) => event.hash));
      expect(
        events.filter((event) => hashes.has(event.hash)).map((event) => event.streamName),
      ).toEqual([`programme-${P}`, `application-${newcomerApplication}`]);
    } finally {
      await store.close();
    }
  });

  it('seals every personal field, names every subject by pseudonym, and stores no plaintext', async () => {
    const store = createEventStore(loadConfig(newEnv), EVENT_SCHEMAS);
    let events: RecordedEvent[];
    try {
      events = await readAll(store);
    } finally {
      await store.close();
    }
    let sealed = 0;
    for (const event of events) {
      const classes = PERSONAL_DATA_POLICY[event.type]!;
      for (const path of classes.personal ?? []) {
        for (const value of valuesAtPath(event.data, path)) {
          expect({ event: event.type, path, sealed: isSealed(value) }).toEqual({
            event: event.type,
            path,
            sealed: true,
          });
          sealed += 1;
        }
      }
      if (classes.subject) expect(event.data[classes.subject]).toMatch(/^[0-9a-f]{32}$/);
      if (STUDENT_ROLES.has(event.metadata.actor.role))
        expect(event.metadata.actor.sub).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(sealed).toBeGreaterThan(15);
    const enrolled = events.find((event) => event.type === 'ParticipantEnrolled')!;
    expect(isSealed(enrolled.data.participantSub)).toBe(true);
    const matched = events.find((event) => event.type === 'CandidateMatched')!;
    expect(matched.data.subjectRef).toBe(enrolled.data.subjectRef);

    const stored =
      kind === 'sqlite'
        ? filesUnder(newEnv.DATA_DIR!).map((file) => readFileSync(file))
        : [
            Buffer.from(await dumpSchema(newEnv.DATABASE_URL!)),
            ...filesUnder(workDir)
              .filter((file) => file.includes('encrypt-log'))
              .map((file) => readFileSync(file)),
          ];
    // The same search finds the old log's plaintext (all but what was written after the upgrade).
    const old =
      kind === 'sqlite'
        ? filesUnder(oldEnv.DATA_DIR!).map((file) => readFileSync(file))
        : [Buffer.from(oldDump)];
    const found = (copies: Buffer[], needle: string) =>
      copies.some((bytes) => bytes.includes(Buffer.from(needle)));
    expect(PLAINTEXT.filter((needle) => !found(old, needle))).toEqual([NEW_NAME, NEWCOMER]);
    expect(PLAINTEXT.filter((needle) => found(stored, needle))).toEqual([]);
  });

  it('reports where every event went: old and new position and hash', async () => {
    const store = createEventStore(loadConfig(newEnv), EVENT_SCHEMAS);
    let events: RecordedEvent[];
    try {
      events = await readAll(store);
    } finally {
      await store.close();
    }
    const report = JSON.parse(readFileSync(reportFile(), 'utf8')) as {
      format: string;
      events: Array<Record<string, unknown>>;
      summary: Record<string, number>;
      digest: { file: string; treeSize: number };
    };
    expect(report.format).toBe(REPORT_FORMAT);
    expect(report.events).toEqual(
      oldEvents.map((old, index) => ({
        eventId: old.eventId,
        streamName: old.streamName,
        revision: old.revision,
        oldPosition: old.position,
        newPosition: events[index]!.position,
        oldHash: old.hash,
        newHash: events[index]!.hash,
      })),
    );
    expect(report.summary).toMatchObject({
      events: oldEvents.length,
      subjects: 3,
      copiedAsIs: 1,
      keysCopied: 1,
    });
    expect(report.digest).toMatchObject({ file: digestFile(), treeSize: oldEvents.length });
  });

  it('refuses a target that is not empty, saying what to do', async () => {
    const again = await cli(oldEnv, workDir, 'encrypt-log', ...target).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(again).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/is not empty .*: encrypt-log writes the new log into/),
    });
    const none = await cli(oldEnv, workDir, 'encrypt-log').catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(none).toMatchObject({ code: 1, stderr: expect.stringContaining('needs a target') });
    // Settings that name no log (a typo) are refused, and no empty log is made there.
    const typo = join(workDir, 'typo');
    const elsewhere =
      kind === 'sqlite'
        ? { ...oldEnv, DATA_DIR: typo }
        : { ...oldEnv, DATABASE_URL: await freshSchemaUrl() };
    const nothing = await cli(
      elsewhere,
      workDir,
      'encrypt-log',
      '--to-data-dir',
      join(workDir, 'x'),
    ).catch((error: { code: number; stderr: string }) => error);
    expect(nothing).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('There is no log at'),
    });
    expect(existsSync(typo)).toBe(false);
    expect(existsSync(join(workDir, 'x'))).toBe(false);
  });

  it('serves the new log: names opened for those allowed, the student as self, and erasure works', async () => {
    const t = await startApp(newEnv);
    try {
      const head = await t.store.headPosition();
      const get = async (url: string, headers: Record<string, string>, minPosition = head) => {
        const response = await t.request({
          method: 'GET',
          url: `${url}${url.includes('?') ? '&' : '?'}minPosition=${minPosition}`,
          headers,
        });
        expect(response.statusCode).toBe(200);
        return response.json<Record<string, unknown>>();
      };
      const admin = await t.auth('programme_admin');
      expect(await get(`/v1/applications/${ids.ouyangApplication}`, admin)).toMatchObject({
        fullName: NAME,
        institution: INSTITUTION,
        status: 'enrolled',
      });
      expect(await get(`/v1/applications/${newcomerApplication}`, admin)).toMatchObject({
        fullName: NEW_NAME,
      });
      // The student signs in with the same sub as before: still "self".
      const student = await t.auth('applicant', { sub: OUYANG });
      expect(await get(`/v1/applications/${ids.ouyangApplication}`, student)).toMatchObject({
        fullName: NAME,
      });
      const otherStudent = await t.request({
        method: 'GET',
        url: `/v1/applications/${ids.otherApplication}`,
        headers: student,
      });
      expect(otherStudent.statusCode).toBe(404);
      const timeline = await get(
        `/v1/participants/${ids.participant}/timeline`,
        await t.auth('participant', { sub: OUYANG }),
      );
      expect(JSON.stringify(timeline)).toContain(TITLE);
      expect(JSON.stringify(timeline)).toContain(REJECT_REASON);

      const erased = await post(t, `/v1/applications/${ids.ouyangApplication}/erasure`, admin, {
        reason: 'Request under PIPL Art. 47',
      });
      const after = await get(
        `/v1/applications/${ids.ouyangApplication}`,
        admin,
        Number(erased.position),
      );
      expect(after).toMatchObject({ fullName: null, institution: null, erased: true });
      expect(JSON.stringify(after)).not.toContain(NAME);
      expect(await get(`/v1/applications/${ids.otherApplication}`, admin)).toMatchObject({
        fullName: OTHER_NAME,
      });
    } finally {
      await t.close(false);
    }
  });
});
