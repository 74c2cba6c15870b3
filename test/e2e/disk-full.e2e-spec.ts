import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { applicationStream } from '../../src/applications/domain/application';
import { DTDP_2025 } from '../../src/programmes/domain/programme';
import { freshEnv, startApp, type TestApp } from '../support/app';
import { eligibleForm } from '../support/programme-fixtures';

const P = DTDP_2025.programmeId;

/** Mounts a tmpfs of `size` at `dir`; false where the container may not mount (no CAP_SYS_ADMIN). */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const probe = mkdtempSync(join(tmpdir(), 'tmpfs-probe-'));
const canMount = mountTmpfs(probe, '1m');
if (canMount) execFileSync('umount', [probe]);
rmSync(probe, { recursive: true, force: true });
if (!canMount)
  process.stderr.write(
    'disk-full e2e skipped: this machine may not mount a tmpfs; test/stores/sqlite-disk-full.spec.ts stages the same with PRAGMA max_page_count.\n',
  );

/** Writes zeros to `file` until the file system refuses with ENOSPC. */
function fillUp(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

// The embedded store on a real, size-limited tmpfs that the test fills up and frees again.
(canMount ? describe : describe.skip)('a full disk under DATA_DIR (sqlite, tmpfs)', () => {
  let mountPoint: string;
  let t: TestApp;

  beforeEach(async () => {
    mountPoint = mkdtempSync(join(tmpdir(), 'full-disk-'));
    expect(mountTmpfs(mountPoint, '32m')).toBe(true);
    t = await startApp({ ...(await freshEnv('sqlite')), DATA_DIR: join(mountPoint, 'data') });
  });
  afterEach(async () => {
    await t.close(false);
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  const submit = async (sub: string) =>
    t.request({
      method: 'POST',
      url: `/v1/programmes/${P}/applications`,
      headers: { 'content-type': 'application/json', ...(await t.auth('applicant', { sub })) },
      payload: JSON.stringify(eligibleForm),
    });
  // Read-your-writes: the answer waits until the read models have the submission.
  const read = async (sub: string, id: string, minPosition = 0) =>
    t.request({
      method: 'GET',
      url: `/v1/applications/${id}?minPosition=${minPosition}`,
      headers: await t.auth('applicant', { sub }),
    });

  /** Every SQLite file in DATA_DIR passes `PRAGMA integrity_check`; each stream's revisions run 0, 1, 2, … */
  function expectNothingHalfWritten(): Map<string, number> {
    const dataDir = join(mountPoint, 'data');
    for (const file of readdirSync(dataDir).filter((name) => name.endsWith('.sqlite'))) {
      const db = new Database(join(dataDir, file), { readonly: true });
      try {
        expect([file, db.pragma('integrity_check', { simple: true })]).toEqual([file, 'ok']);
      } finally {
        db.close();
      }
    }
    const events = new Database(join(dataDir, 'events.sqlite'), { readonly: true });
    try {
      const rows = events
        .prepare('SELECT stream_name, revision FROM events ORDER BY stream_name, revision')
        .all() as Array<{ stream_name: string; revision: number }>;
      const heads = new Map<string, number>();
      for (const row of rows) {
        expect(row.revision).toBe((heads.get(row.stream_name) ?? -1) + 1);
        heads.set(row.stream_name, row.revision);
      }
      return heads;
    } finally {
      events.close();
    }
  }

  it('commands answer 503 STORE_NOT_WRITABLE, nothing is half-written, reads go on; with space back, writes resume', async () => {
    const first = await submit('student-0');
    expect(first.statusCode).toBe(201);
    const { applicationId: firstId, position: firstPosition } = first.json<{
      applicationId: string;
      position: number;
    }>();
    expect((await read('student-0', firstId, firstPosition)).statusCode).toBe(200);

    const filler = join(mountPoint, 'filler');
    fillUp(filler);
    // SQLite reuses room it already has (WAL frames, free pages) before it needs more: a few
    // commands may still fit. Every one that was acknowledged must be kept.
    const acknowledged = [firstId];
    let refused;
    for (let i = 1; i <= 300 && !refused; i += 1) {
      const response = await submit(`student-${i}`);
      if (response.statusCode === 201)
        acknowledged.push(response.json<{ applicationId: string }>().applicationId);
      else refused = response;
    }
    expect(refused?.statusCode).toBe(503);
    expect(refused?.headers['content-type']).toContain('application/problem+json');
    expect(refused?.headers['retry-after']).toBe('5');
    expect(refused?.json()).toMatchObject({
      code: 'STORE_NOT_WRITABLE',
      detail: expect.stringMatching(/^The embedded store cannot write \(disk full or read-only\)/),
    });
    expect(refused?.body).not.toContain(mountPoint);

    // Reads continue.
    expect((await read('student-0', firstId, firstPosition)).statusCode).toBe(200);
    expect(expectNothingHalfWritten().size).toBeGreaterThan(0);

    // Space is back: the next command goes through, and every acknowledged one is in the log.
    rmSync(filler);
    const after = await submit('student-after');
    expect(after.statusCode).toBe(201);
    acknowledged.push(after.json<{ applicationId: string }>().applicationId);
    const heads = expectNothingHalfWritten();
    for (const id of acknowledged) expect(heads.has(applicationStream(id))).toBe(true);
  });
});
