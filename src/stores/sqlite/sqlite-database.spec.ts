import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openWalDatabase, retryWhileBusy } from './sqlite-database';

describe('opening a SQLite file another connection has locked', () => {
  let dir: string;
  let fileName: string;
  let holder: Database.Database;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-open-'));
    fileName = join(dir, 'file.sqlite');
    holder = new Database(fileName);
    holder.exec('CREATE TABLE t (a)');
    holder.exec('BEGIN EXCLUSIVE');
  });
  afterEach(() => {
    if (holder.inTransaction) holder.exec('ROLLBACK');
    holder.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries the switch to WAL while the file is busy, then switches', () => {
    const opener = new Database(fileName, { timeout: 0 });
    let attempts = 0;
    const mode = retryWhileBusy(() => {
      attempts += 1;
      if (attempts === 3) holder.exec('COMMIT');
      return opener.pragma('journal_mode = WAL', { simple: true }) as string;
    }, 5000);
    opener.close();
    expect(attempts).toBe(3);
    expect(mode).toBe('wal');
  });

  it('gives up with SQLITE_BUSY once the timeout has passed', () => {
    const started = Date.now();
    expect(() => openWalDatabase({ fileName, busyTimeoutMs: 60 })).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^SQLITE_BUSY/) }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
  });

  it('does not retry errors other than busy', () => {
    let attempts = 0;
    expect(() =>
      retryWhileBusy(() => {
        attempts += 1;
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      }, 5000),
    ).toThrow('disk I/O error');
    expect(attempts).toBe(1);
  });
});
