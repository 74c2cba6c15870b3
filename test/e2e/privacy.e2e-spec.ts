import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDigest, checkDigest, loadOrCreateDigestKeys } from '../../src/audit/digest';
import { runVerification } from '../../src/audit/verification';
import { SUBJECT_KEY_STORE, type SubjectKeyStore } from '../../src/event-sourcing';
import { READ_MODEL_STORE, type ReadModelStore } from '../../src/projections/read-model-store';
import { PROJECTIONS } from '../../src/read-models';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { enrolParticipant } from '../support/participants';
import { eligibleForm } from '../support/programme-fixtures';

const run = promisify(execFile);
const P = 'cast-dtdp-2025';

// Text that can only come from this person's data: found anywhere, it is a leak.
const NAME = 'Ouyang Xuefeng-Privacy';
const INSTITUTION = 'Baotou Institute of Rare Earth Privacy Studies';
const TITLE = 'Seminar on erasure, chaired by Ouyang';

/** Every file under a folder, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The files under DATA_DIR that contain `needle` (bytes, not text: keys are binary). */
function filesContaining(dataDir: string, needle: Buffer): string[] {
  return filesUnder(dataDir).filter((file) => readFileSync(file).includes(needle));
}

async function pgDump(databaseUrl: string): Promise<string> {
  const url = new URL(databaseUrl);
  const schema = /search_path=(\w+)/.exec(
    decodeURIComponent(url.searchParams.get('options') ?? ''),
  )![1]!;
  url.searchParams.delete('options');
  const { stdout } = await run('pg_dump', ['--dbname', url.toString(), '--schema', schema], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

describe.each<StoreKind>(['sqlite', 'postgres'])('personal data and erasure (%s)', (kind) => {
  let t: TestApp;
  let applicationId: string;
  let participantId: string;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    t = await startApp(await freshEnv(kind));
    const student = await t.auth('applicant', { sub: 'student-ouyang' });
    const submitted = await t.request({
      method: 'POST',
      url: `/v1/programmes/${P}/applications`,
      headers: { ...json, ...student, 'idempotency-key': 'apply-ouyang-1' },
      payload: { ...eligibleForm, fullName: NAME, institution: INSTITUTION },
    });
    expect(submitted.statusCode).toBe(201);
    applicationId = submitted.json<{ applicationId: string }>().applicationId;
    // Someone else, whose data must survive the erasure untouched.
    participantId = await enrolParticipant(t, { sub: 'student-other', today: '2026-03-01' });
  }, 60_000);
  afterAll(() => t.close());

  it('stores personal fields only as ciphertext, shows them to those allowed, and erases them for good', async () => {
    const admin = await t.auth('programme_admin');
    const staff = await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
    const auditor = await t.auth('auditor');
    const student = await t.auth('participant', { sub: 'student-ouyang' });
    const post = async (url: string, headers: Record<string, string>, payload: unknown = {}) => {
      const response = await t.request({
        method: 'POST',
        url,
        headers: { ...json, ...headers },
        payload: JSON.stringify(payload),
      });
      expect(response.statusCode).toBeLessThan(300);
      return response.json<{ position: number; participantId?: string }>();
    };
    await post(`/v1/applications/${applicationId}/recommendation`, staff, {
      note: `Strong: ${NAME}`,
    });
    await post(`/v1/applications/${applicationId}/match`, admin, { mentoringSocietyCode: 'B33' });
    const { participantId: ouyang } = await post(
      `/v1/applications/${applicationId}/enrolment`,
      admin,
      {
        startDate: '2026-01-01',
      },
    );
    const logged = await t.request({
      method: 'POST',
      url: `/v1/participants/${ouyang}/activities`,
      headers: { ...json, ...student },
      payload: {
        pillar: 'social',
        category: 'other_social',
        title: TITLE,
        occurredOn: '2026-02-10',
        hours: 6,
        evidence: `signed by ${NAME}`,
      },
    });
    expect(logged.statusCode).toBe(201);
    const { activityId, position } = logged.json<{ activityId: string; position: number }>();
    await post(`/v1/participants/${ouyang}/activities/${activityId}/verification`, staff);

    const get = async (url: string, headers: Record<string, string>) => {
      const response = await t.request({
        method: 'GET',
        url: `${url}${url.includes('?') ? '&' : '?'}minPosition=${position + 1}`,
        headers,
      });
      expect(response.statusCode).toBe(200);
      return response.json<Record<string, unknown>>();
    };
    // Before: the people allowed to see it see it, including the student as "self".
    expect(await get(`/v1/applications/${applicationId}`, student)).toMatchObject({
      fullName: NAME,
      institution: INSTITUTION,
    });
    const timelineBefore = await get(`/v1/participants/${ouyang}/timeline`, staff);
    expect(JSON.stringify(timelineBefore)).toContain(TITLE);
    const progressBefore = await get(`/v1/participants/${ouyang}/progress`, staff);
    const dashboardBefore = await get(`/v1/programmes/${P}/dashboard`, admin);
    // The log and every store hold ciphertext only, from the start.
    const raw = await t.store.readStream(`application-${applicationId}`);
    expect(JSON.stringify(raw)).not.toContain(NAME);
    expect(raw[0]!.data.fullName).toEqual({ $sealed: expect.stringMatching(/^pd1:/) });
    // The student's own sub is in the log only as a pseudonym.
    expect(JSON.stringify(raw)).not.toContain('student-ouyang');
    for (const needle of [NAME, INSTITUTION, TITLE])
      expect(filesContaining(t.dataDir, Buffer.from(needle))).toEqual([]);

    const keys = t.app.get<SubjectKeyStore>(SUBJECT_KEY_STORE);
    const subjectRef = raw[0]!.data.subjectRef as string;
    const key = (await keys.keys([subjectRef], false)).get(subjectRef);
    if (key?.state !== 'live') throw new Error('the student has no live key');
    // The idempotency record of the application holds its answer (with the graduation date).
    const answerText = Buffer.from('apply-ouyang-1');
    if (kind === 'sqlite') {
      expect(filesContaining(t.dataDir, key.key).length).toBeGreaterThan(0);
      expect(filesContaining(t.dataDir, answerText).length).toBeGreaterThan(0);
    } else {
      const dump = await pgDump(t.env.DATABASE_URL!);
      expect(dump).toContain(key.key.toString('hex'));
      expect(dump).toContain('apply-ouyang-1');
    }

    // An auditor signs a digest before the erasure.
    const digestKeys = loadOrCreateDigestKeys(t.dataDir);
    const digest = await createDigest(t.storedLog, digestKeys);

    // Erasure: 200 with the position; a second time changes nothing.
    const erased = await post(`/v1/applications/${applicationId}/erasure`, admin, {
      reason: 'Request under PIPL Art. 47',
    });
    expect(erased).toMatchObject({ subjectRef, position: expect.any(Number) });
    expect(subjectRef).not.toContain('student-ouyang');
    expect(
      await post(`/v1/applications/${applicationId}/erasure`, admin, { reason: 'again' }),
    ).toEqual(erased);
    const erasure = await t.store.readStream(`data-subject-${subjectRef}`);
    expect(erasure).toHaveLength(1);
    expect(erasure[0]).toMatchObject({
      type: 'PersonalDataErased',
      data: { subjectRef, reason: 'Request under PIPL Art. 47' },
    });

    // After: every answer shows the personal fields as null with erased: true; figures stay.
    const after = async (url: string, headers = admin) => {
      const response = await t.request({
        method: 'GET',
        url: `${url}${url.includes('?') ? '&' : '?'}minPosition=${erased.position}`,
        headers,
      });
      expect(response.statusCode).toBe(200);
      const body = response.body;
      for (const needle of [NAME, INSTITUTION, TITLE]) expect(body).not.toContain(needle);
      return response.json<Record<string, unknown>>();
    };
    expect(await after(`/v1/applications/${applicationId}`)).toMatchObject({
      fullName: null,
      institution: null,
      nationality: null,
      researchField: null,
      expectedGraduationDate: null,
      note: null,
      erased: true,
      status: 'enrolled',
      eligibility: { eligible: true },
    });
    const list = await after(`/v1/programmes/${P}/applications`);
    expect(
      (list.items as Array<Record<string, unknown>>).find(
        (item) => item.applicationId === applicationId,
      ),
    ).toMatchObject({ fullName: null, erased: true });
    expect(
      (list.items as Array<Record<string, unknown>>).find(
        (item) => item.applicationId !== applicationId,
      ),
    ).toMatchObject({ fullName: eligibleForm.fullName });
    const participants = await after(`/v1/programmes/${P}/participants`);
    expect(
      (participants.items as Array<Record<string, unknown>>).find(
        (item) => item.participantId === ouyang,
      ),
    ).toMatchObject({ fullName: null, erased: true });
    const timeline = await after(`/v1/participants/${ouyang}/timeline`);
    const item = (
      timeline.items as Array<{ type: string; data: Record<string, unknown>; summary: string }>
    ).find((entry) => entry.type === 'ActivityLogged')!;
    expect(item.data).toMatchObject({ title: null, evidence: null, hours: 6, erased: true });
    expect(item.summary).toBe('Logged 6 h social (other_social)');
    const asOf = await after(`/v1/participants/${ouyang}/timeline?knownAt=2030-01-01T00:00:00Z`);
    expect(JSON.stringify(asOf)).toContain('"erased":true');
    expect(await after(`/v1/participants/${ouyang}/progress`)).toEqual({
      ...progressBefore,
      position: expect.any(Number),
    });
    expect(await after(`/v1/programmes/${P}/dashboard`)).toEqual(dashboardBefore);
    const audit = await after(`/v1/audit/streams/application-${applicationId}`, auditor);
    expect(JSON.stringify(audit)).toContain('"erased":true');
    // The student is erased: they no longer see "their" application.
    const self = await t.request({
      method: 'GET',
      url: `/v1/applications/${applicationId}`,
      headers: student,
    });
    expect(self.statusCode).toBe(200);
    expect(self.json()).toMatchObject({ fullName: null, erased: true });

    // Someone else's data is untouched.
    const other = await after(`/v1/participants/${participantId}/progress`);
    expect(other).toMatchObject({ participantId });

    // Chains, read models (a fresh replay equals them) and the digest signed before all verify.
    const report = await runVerification(
      t.storedLog,
      t.store,
      t.app.get<ReadModelStore>(READ_MODEL_STORE),
      PROJECTIONS,
    );
    expect(report.log.problems).toEqual([]);
    expect(report.readModels.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const check = await checkDigest(t.storedLog, digest, digestKeys.publicKey);
    expect(check).toMatchObject({ signatureValid: true, logExtendsDigest: true, problems: [] });

    // The bytes are gone: no file under DATA_DIR (and no dump) holds the key or the answer.
    expect((await keys.keys([subjectRef], false)).get(subjectRef)).toMatchObject({
      state: 'erased',
    });
    if (kind === 'sqlite') {
      expect(filesContaining(t.dataDir, key.key)).toEqual([]);
      expect(filesContaining(t.dataDir, answerText)).toEqual([]);
    } else {
      const dump = await pgDump(t.env.DATABASE_URL!);
      expect(dump).not.toContain(key.key.toString('hex'));
      expect(dump).not.toContain('apply-ouyang-1');
      for (const needle of [NAME, INSTITUTION, TITLE]) expect(dump).not.toContain(needle);
    }
    for (const needle of [NAME, INSTITUTION, TITLE])
      expect(filesContaining(t.dataDir, Buffer.from(needle))).toEqual([]);
  }, 120_000);
});
