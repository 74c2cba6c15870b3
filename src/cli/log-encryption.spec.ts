import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eligibleForm } from '../../test/support/programme-fixtures';
import { applicationDecider, type ApplicationEvent } from '../applications/domain/application';
import {
  type EventMetadata,
  type NewEvent,
  PersonalDataVault,
  SealingEventStore,
  isSealed,
  sealedParts,
} from '../event-sourcing';
import { PERSONAL_DATA_POLICY } from '../personal-data';
import { DTDP_2025 } from '../programmes/domain/programme';
import { STUDENT_ROLES } from '../stores/event-store.module';
import { SqliteSubjectKeyStore } from '../stores/keys/sqlite-subject-key-store';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import {
  type EventMapping,
  LogEncryptionError,
  copySubjectKeys,
  encryptLog,
} from './log-encryption';

const metadata = (role: string, sub: string): EventMetadata => ({
  actor: { sub, role },
  correlationId: randomUUID(),
  causationId: null,
  schemaVersion: 1,
});

/** An application as the version before sealing wrote it: no subjectRef, everything plain. */
function oldSubmission(applicationId: string, sub: string): NewEvent {
  const [event] = applicationDecider.decide(
    {
      type: 'SubmitApplication',
      applicationId,
      programme: DTDP_2025,
      applicantSub: sub,
      subjectRef: 'dropped',
      submittedAt: '2025-11-10T09:00:00+08:00',
      form: eligibleForm,
    },
    null,
  ) as [ApplicationEvent];
  const { subjectRef: _dropped, ...data } = event.data;
  return { type: event.type, data, metadata: metadata('applicant', sub) };
}

describe('encryptLog', () => {
  let dir: string;
  let source: SqliteEventStore;
  let target: SqliteEventStore;
  let oldKeys: SqliteSubjectKeyStore;
  let newKeys: SqliteSubjectKeyStore;
  const mapped: EventMapping[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'encrypt-log-'));
    source = new SqliteEventStore({ fileName: join(dir, 'old', 'events.sqlite') });
    target = new SqliteEventStore({ fileName: join(dir, 'new', 'events.sqlite') });
    oldKeys = new SqliteSubjectKeyStore(join(dir, 'old', 'keys.sqlite'));
    newKeys = new SqliteSubjectKeyStore(join(dir, 'new', 'keys.sqlite'));
    mapped.length = 0;
  });
  afterEach(async () => {
    for (const store of [source, target, oldKeys, newKeys]) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const migrate = async () =>
    encryptLog({
      source,
      target,
      vault: await PersonalDataVault.open(newKeys),
      policy: PERSONAL_DATA_POLICY,
      studentRoles: STUDENT_ROLES,
      onMapped: (mapping) => {
        mapped.push(mapping);
      },
      pageSize: 2,
    });

  it('refuses an event whose student is not found earlier in the log, naming it', async () => {
    await source.append('programme-x', [
      { type: 'ProgrammeDefined', data: { ...DTDP_2025 }, metadata: metadata('system', 'seed') },
    ]);
    await source.append('selection-x-B33', [
      {
        type: 'ApplicationDeclined',
        data: { applicationId: 'nowhere', programmeId: 'x', societyCode: 'B33', reason: 'No.' },
        metadata: metadata('society_staff', 'staff-1'),
      },
    ]);
    await expect(migrate()).rejects.toThrow(
      new LogEncryptionError(
        'ApplicationDeclined at position 2 (selection-x-B33 revision 0): no data subject found for this ApplicationDeclined (its application or participant is not earlier in the log); check the old log with verify',
      ),
    );
    // A page is planned whole before any of it is written.
    expect(mapped).toEqual([]);
    expect(await target.headPosition()).toBe(0);
  });

  it('refuses an event type this version does not declare', async () => {
    await source.append('odd-1', [
      { type: 'SomethingElse', data: { n: 1 }, metadata: metadata('system', 'x') },
    ]);
    await expect(migrate()).rejects.toThrow(/SomethingElse has no personal-data declaration/);
  });

  it('writes the old values of a student erased before the migration as erased, not readable', async () => {
    await source.append('application-a1', [oldSubmission('a1', 'student-gone')]);
    await source.append('application-a2', [oldSubmission('a2', 'student-kept')]);
    const old = await PersonalDataVault.open(oldKeys);
    await old.erase(old.pseudonym('student-gone'), '2026-01-05T00:00:00.000Z');
    expect(await copySubjectKeys(oldKeys, newKeys)).toBe(1);

    const summary = await migrate();
    expect(summary).toMatchObject({ events: 2, subjects: 2, subjectRefsAdded: 2, copiedAsIs: 0 });
    const [gone, kept] = await target.readAll(0, 10);
    expect(gone!.data.subjectRef).toBe(old.pseudonym('student-gone'));
    expect(gone!.metadata.actor.sub).toBe(old.pseudonym('student-gone'));
    expect(isSealed(gone!.data.fullName)).toBe(true);
    expect(sealedParts(gone!.data.fullName as { $sealed: string }).cipher).toBeUndefined();
    const vault = await PersonalDataVault.open(newKeys);
    expect(await vault.unseal(gone!.data)).toMatchObject({ fullName: null, erased: true });
    expect(await vault.unseal(kept!.data)).toMatchObject({ fullName: eligibleForm.fullName });
    expect(mapped.map((mapping) => [mapping.oldPosition, mapping.newPosition])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('refuses values sealed under keys the new key store does not hold', async () => {
    // Written after the upgrade, under the old store's keys, which were not copied.
    const old = await PersonalDataVault.open(oldKeys);
    const sealing = new SealingEventStore(source, old, PERSONAL_DATA_POLICY, STUDENT_ROLES);
    const submission = oldSubmission('a1', 'student-new');
    await sealing.append('application-a1', [
      {
        ...submission,
        data: { ...submission.data, subjectRef: old.pseudonym('student-new') },
      },
    ]);
    await expect(migrate()).rejects.toThrow(
      /ApplicationSubmitted at position 1 \(application-a1 revision 0\): the sealed \S+ of subject \w+ does not decrypt with that subject's key/,
    );
  });

  it('refuses a new log that is not empty', async () => {
    await source.append('application-a1', [oldSubmission('a1', 'student-1')]);
    await target.append('application-a1', [oldSubmission('a1', 'student-1')]);
    await expect(migrate()).rejects.toThrow('the new log is not empty');
  });
});
