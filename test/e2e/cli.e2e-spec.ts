import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { TokenVerifier, loadOrCreateSecret } from '../../src/auth/tokens';
import { SqliteReadModelStore } from '../../src/stores/read-models/sqlite-read-model-store';
import { applicationIdFor } from '../../src/applications/commands/application.handlers';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { PROJECTIONS } from '../../src/read-models';
import { testEvent } from '../support/events';
import { FaultyReadModelStore, refusalError } from '../support/faults';

const run = promisify(execFile);
const root = join(__dirname, '../..');

// The CLI as users run it (from the TypeScript sources here; `npm run cli` runs the build).
function cli(dataDir: string, ...args: string[]) {
  return run(
    process.execPath,
    ['-r', '@swc-node/register', join(root, 'src/cli/index.ts'), ...args],
    {
      cwd: root,
      env: { ...process.env, DATA_DIR: dataDir, AUTH_JWT_SECRET: '' },
    },
  );
}

describe('CLI', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cli-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('token: prints a token the service accepts, with a secret generated into DATA_DIR (0600)', async () => {
    const { stdout } = await cli(
      dataDir,
      'token',
      '--role',
      'society_staff',
      '--society',
      'B33',
      '--sub',
      'staff-7',
      '--ttl',
      '1h',
    );
    const secret = loadOrCreateSecret(dataDir, undefined);
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    await expect(
      new TokenVerifier({ kind: 'local', secret }).verify(stdout.trim()),
    ).resolves.toEqual({ sub: 'staff-7', role: 'society_staff', society: 'B33' });
    await expect(cli(dataDir, 'token', '--role', 'society_staff')).rejects.toMatchObject({
      stderr: expect.stringContaining('--society'),
    });
    await expect(cli(dataDir, 'token', '--role', 'auditor', '--ttl', '13h')).rejects.toMatchObject({
      stderr:
        '--ttl 13h is longer than AUTH_MAX_TTL (12h): ask for 12h or less, or raise AUTH_MAX_TTL.\n',
    });
  }, 60_000);

  it('seed --demo: defines the programme and a demo cohort through the real commands, once', async () => {
    const first = await cli(dataDir, 'seed', '--demo');
    expect(first.stdout).toContain('Defined programme cast-dtdp-2025.');
    expect(first.stdout).toMatch(/Added the demo cohort \(\d+ commands\)/);
    const again = await cli(dataDir, 'seed', '--demo');
    expect(again.stdout).toContain('already defined');
    expect(again.stdout).toContain('exists already');
    const store = new SqliteEventStore({ fileName: join(dataDir, 'events.sqlite') });
    try {
      const events = await store.readAll(0, 10_000);
      const count = (type: string) => events.filter((event) => event.type === type).length;
      expect(count('ProgrammeDefined')).toBe(1);
      expect(count('ApplicationSubmitted')).toBe(8);
      expect(count('CandidateRecommended')).toBe(3);
      expect(count('ParticipantEnrolled')).toBe(2);
      expect(count('ActivityCorrected')).toBe(1);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('rebuild: fills every read model from the events, with a progress bar; dead-letters lists none', async () => {
    await cli(dataDir, 'seed', '--demo');
    const { stdout, stderr } = await cli(dataDir, 'rebuild');
    expect(stdout).toContain('Read models rebuilt and switched.');
    expect(stderr).toMatch(
      /programmes, applications, progress, timeline \[[^\]]+\] 100% \| \d+\/\d+ events \| \d+ events\/s \| ETA/,
    );
    const readModels = new SqliteReadModelStore(join(dataDir, 'read-models.sqlite'));
    try {
      expect(await readModels.all('progress', { programmeId: 'cast-dtdp-2025' })).toHaveLength(2);
      expect(await readModels.all('applications', { programmeId: 'cast-dtdp-2025' })).toHaveLength(
        8,
      );
      // seed --demo ran the service's projections (generation 1); the rebuild made generation 2.
      expect((await readModels.activeGeneration('timeline'))?.generation).toBe(2);
    } finally {
      await readModels.close();
    }
    await cli(dataDir, 'rebuild', '--projection', 'timeline');
    const again = new SqliteReadModelStore(join(dataDir, 'read-models.sqlite'));
    try {
      expect((await again.activeGeneration('timeline'))?.generation).toBe(3);
      expect((await again.activeGeneration('progress'))?.generation).toBe(2);
    } finally {
      await again.close();
    }
    expect((await cli(dataDir, 'dead-letters')).stdout).toBe('No dead letters.\n');
  }, 60_000);

  it('dead-letters --retry: after a fix, rebuilds the read models that have dead letters; those that apply now are cleared', async () => {
    await cli(dataDir, 'seed', '--demo');
    // The service's projections meet two events they cannot apply: a programme whose document
    // the store refuses (until the fix), and an activity of a participant never enrolled,
    // which the progress projection cannot fold (fix or not).
    const events = new SqliteEventStore({ fileName: join(dataDir, 'events.sqlite') });
    const readModels = new SqliteReadModelStore(join(dataDir, 'read-models.sqlite'));
    try {
      await events.append('programme-legacy-p', [
        testEvent('ProgrammeDefined', { programmeId: 'legacy-p', name: 'Legacy' }),
      ]);
      const { position } = await events.append('participant-ghost', [
        testEvent('ActivityLogged', {
          participantId: 'ghost',
          activityId: 'a-1',
          pillar: 'social',
          category: 'other_social',
          title: null,
          occurredOn: '2026-03-01',
          endedOn: null,
          hours: 1,
          evidence: null,
        }),
      ]);
      const faulty = new FaultyReadModelStore(readModels);
      faulty.fault = (commit) =>
        commit.writes.some((write) => write.key === 'legacy-p') ? refusalError() : undefined;
      const runner = new ProjectionRunner(events, faulty, PROJECTIONS);
      await runner.start();
      try {
        expect(await runner.waitFor(position, 20_000)).toBe(true);
      } finally {
        await runner.stop();
      }
      expect(await readModels.get('programmes', 'legacy-p')).toBeUndefined();
    } finally {
      await readModels.close();
      await events.close();
    }
    const listed = (await cli(dataDir, 'dead-letters')).stdout.trim().split('\n');
    expect(listed).toEqual([
      expect.stringMatching(
        / programmes {2}position \d+ {2}ProgrammeDefined in programme-legacy-p: read-model store refused: 22P05 /,
      ),
      expect.stringMatching(
        / progress {2}position \d+ {2}ActivityLogged in participant-ghost: ActivityLogged before ParticipantEnrolled/,
      ),
    ]);

    const { stdout, stderr } = await cli(dataDir, 'dead-letters', '--retry');
    expect(stderr).toMatch(/programmes, progress \[[^\]]+\] 100% \| \d+\/\d+ events/);
    const [summary, ...remaining] = stdout.trim().split('\n');
    expect(summary).toBe('Re-applied 1 of 2 dead letters; 1 remains.');
    expect(remaining).toEqual([expect.stringContaining('ActivityLogged in participant-ghost')]);
    const after = new SqliteReadModelStore(join(dataDir, 'read-models.sqlite'));
    try {
      expect(await after.get('programmes', 'legacy-p')).toMatchObject({ name: 'Legacy' });
      // Rebuilt beside the served generations and switched; the others were left alone.
      expect((await after.activeGeneration('programmes'))?.generation).toBe(2);
      expect((await after.activeGeneration('progress'))?.generation).toBe(2);
      expect((await after.activeGeneration('timeline'))?.generation).toBe(1);
    } finally {
      await after.close();
    }
    expect((await cli(dataDir, 'dead-letters')).stdout).toMatch(/^\S+ {2}progress {2}position /);
  }, 60_000);

  it('erase: the same erasure as the API; replay then shows null with erased: true, and verify still passes', async () => {
    await cli(dataDir, 'seed', '--demo');
    const applicationId = applicationIdFor('cast-dtdp-2025', 'demo-li-wei');
    const stream = `application-${applicationId}`;
    expect((await cli(dataDir, 'replay', '--stream', stream)).stdout).toContain(
      '"fullName":"Li Wei"',
    );
    const erased = await cli(
      dataDir,
      'erase',
      '--application',
      applicationId,
      '--reason',
      'Request under PIPL Art. 47',
    );
    expect(erased.stdout).toMatch(
      /^Erased data subject [0-9a-f]{32} \(key deleted .+\); PersonalDataErased is at position \d+\.\n$/,
    );
    // Again: nothing new, the same answer.
    expect(
      (await cli(dataDir, 'erase', '--application', applicationId, '--reason', 'again')).stdout,
    ).toBe(erased.stdout);
    const replay = (await cli(dataDir, 'replay', '--stream', stream)).stdout;
    expect(replay).not.toContain('Li Wei');
    expect(replay).toContain('"fullName":null');
    expect(replay).toContain('"erased":true');
    await expect(
      cli(dataDir, 'erase', '--application', 'nope', '--reason', 'x'),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('No application nope.'),
    });
    expect((await cli(dataDir, 'verify')).stdout).toContain('OK');
  }, 90_000);

  it('digest, verify --digest, an outside check with openssl, export and replay; verify fails with exit 1 on a removed event', async () => {
    await cli(dataDir, 'seed', '--demo');
    await cli(dataDir, 'rebuild');
    const digest = await cli(dataDir, 'digest');
    const digestFile = digest.stdout.split('\n')[0]!;
    expect(digestFile).toMatch(/digests\/digest-\d+\.json$/);

    const verified = await cli(dataDir, 'verify', '--digest', digestFile);
    expect(verified.stdout).toContain('Digest OK: signature valid; the log still extends it');
    expect(verified.stdout).toMatch(/timeline \(\d+ rows\)/);
    expect(verified.stdout).toContain('Verification OK.');

    // What docs/auditing.md tells an outside auditor to do, with the public key alone.
    const { signed, signature } = JSON.parse(readFileSync(digestFile, 'utf8')) as {
      signed: string;
      signature: string;
    };
    writeFileSync(join(dataDir, 'signed.txt'), signed);
    writeFileSync(join(dataDir, 'signature.bin'), Buffer.from(signature, 'base64'));
    const openssl = await run('openssl', [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      join(dataDir, 'digest-public-key.pem'),
      '-rawin',
      '-in',
      join(dataDir, 'signed.txt'),
      '-sigfile',
      join(dataDir, 'signature.bin'),
    ]);
    expect(openssl.stdout).toContain('Signature Verified Successfully');

    // The form the hashes cover: personal fields sealed, as stored.
    const exported = await cli(dataDir, 'export', '--sealed');
    expect(exported.stdout).toContain('"$sealed":"pd1:');
    // Without --sealed, people read the names.
    expect((await cli(dataDir, 'export')).stdout).toContain('"fullName":"Li Wei"');
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { position: number; hash: string; prevHash: string | null },
      );
    expect(lines.map((event) => event.position)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.every((event) => /^[0-9a-f]{64}$/.test(event.hash))).toBe(true);

    // docs/auditing.md's standalone check: Python and openssl, the public key and an export.
    writeFileSync(join(dataDir, 'export.ndjson'), exported.stdout);
    const outside = await run('python3', [
      join(root, 'scripts/verify-digest.py'),
      digestFile,
      join(dataDir, 'digest-public-key.pem'),
      join(dataDir, 'export.ndjson'),
    ]);
    expect(outside.stdout).toContain('OK: signature valid; the export extends the digest');

    const replayed = await cli(dataDir, 'replay', '--stream', 'programme-cast-dtdp-2025');
    expect(replayed.stdout).toContain('ProgrammeDefined');
    expect(replayed.stdout).toContain('programmes cast-dtdp-2025:');
    // --until is an instant with its offset, as knownAt is over HTTP.
    for (const until of ['2026-07-15', '2026-07-15T08:00:00', '2026-02-30T08:00:00Z'])
      await expect(
        cli(dataDir, 'replay', '--stream', 'programme-cast-dtdp-2025', '--until', until),
      ).rejects.toMatchObject({ stderr: expect.stringContaining('with its offset') });

    // Remove the last event of one stream, as an intruder with the file would.
    const db = new Database(join(dataDir, 'events.sqlite'));
    const last = db
      .prepare(
        "SELECT stream_name AS name, revision FROM events WHERE stream_name LIKE 'participant-%' ORDER BY position DESC LIMIT 1",
      )
      .get() as { name: string; revision: number };
    db.prepare('DELETE FROM events WHERE stream_name = ? AND revision = ?').run(
      last.name,
      last.revision,
    );
    db.close();
    const failed = await cli(dataDir, 'verify', '--digest', digestFile).then(
      () => {
        throw new Error('verify should have failed');
      },
      (error: { code: number; stdout: string }) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`LOG  ${last.name} revision ${last.revision}:`);
    expect(failed.stdout).toContain('DIGEST  ');
    expect(failed.stdout).toContain('Verification FAILED');
  }, 90_000);
});
