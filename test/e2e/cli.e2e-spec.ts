import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { TokenVerifier, loadOrCreateSecret } from '../../src/auth/tokens';
import { SqliteReadModelStore } from '../../src/stores/read-models/sqlite-read-model-store';

const run = promisify(execFile);
const root = join(__dirname, '../..');

// The CLI as users run it (from the TypeScript sources here; `npm run cli` runs the build).
function cli(dataDir: string, ...args: string[]) {
  return run(process.execPath, ['-r', '@swc-node/register', join(root, 'src/cli.ts'), ...args], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir, AUTH_JWT_SECRET: '' },
  });
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
});
