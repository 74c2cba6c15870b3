import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toProblem } from '../../src/http/problem-details';
import { failureKind, isDiskFailure } from '../../src/shared/transient';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { testEvent, uniqueStream } from '../support/events';

// The embedded store when its disk is full or read-only, staged with SQLite itself so that it
// runs anywhere: `PRAGMA max_page_count` makes SQLite refuse to grow the file with SQLITE_FULL,
// exactly the answer a full disk gives; `PRAGMA query_only` refuses writes with SQLITE_READONLY.
// (test/e2e/disk-full.e2e-spec.ts fills a real, size-limited tmpfs where mounting is allowed.)
describe('SqliteEventStore on a disk that is full or read-only', () => {
  let dir: string;
  let store: SqliteEventStore;
  let connection: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'disk-full-'));
    store = new SqliteEventStore({
      fileName: join(dir, 'events.sqlite'),
      onOpen: (db) => (connection = db),
    });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const big = (type: string) => testEvent(type, { pad: 'x'.repeat(8000) });
  const failureOf = (work: Promise<unknown>) =>
    work.then(
      () => {
        throw new Error('expected a failure');
      },
      (error: unknown) => error,
    );

  // The driver's code, also when the error came wrapped: better-sqlite3's errors can be of
  // another realm inside Jest (its native part keeps the first test file's error class).
  const codeOf = (error: unknown): unknown =>
    (error as { code?: unknown }).code ??
    ((error as { cause?: { code?: unknown } }).cause ?? {}).code;

  async function expectWholeAndUnchanged(streams: Map<string, number>): Promise<void> {
    for (const [stream, count] of streams) {
      const revisions = (await store.readStream(stream)).map((event) => event.revision);
      expect(revisions).toEqual([...Array(count).keys()]);
    }
    const check = new Database(join(dir, 'events.sqlite'), { readonly: true });
    try {
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      check.close();
    }
  }

  it('full: a group commit is refused whole (503 STORE_NOT_WRITABLE), reads go on, writes resume once there is room', async () => {
    const a = uniqueStream('a');
    const b = uniqueStream('b');
    for (let i = 0; i < 3; i += 1) await store.append(a, [testEvent('Before')]);
    await store.append(b, [testEvent('Before')]);

    // No room to grow: the disk is full.
    const pages = connection.pragma('page_count', { simple: true }) as number;
    connection.pragma(`max_page_count = ${pages}`);
    // Appends arriving together share one transaction (group commit): all of it fails.
    const failures = await Promise.all(
      Array.from({ length: 10 }, (_, i) => failureOf(store.append(i % 2 ? a : b, [big('Lost')]))),
    );
    for (const failure of failures) {
      expect(failureKind(failure)).toBe('transient');
      expect(isDiskFailure(failure)).toBe(true);
    }
    const { document, headers } = toProblem(failures[0]);
    expect(document).toMatchObject({ status: 503, code: 'STORE_NOT_WRITABLE' });
    expect(document.detail).toContain('disk full or read-only');
    expect(headers['retry-after']).toBe('5');

    // Nothing half-written; what was there reads as before.
    await expectWholeAndUnchanged(
      new Map([
        [a, 3],
        [b, 1],
      ]),
    );
    expect(await store.headPosition()).toBe(4);

    // Space is back: the next appends go on from the right revisions and positions.
    connection.pragma('max_page_count = 1073741823');
    await expect(store.append(a, [big('After')], { expectedRevision: 2 })).resolves.toEqual({
      nextRevision: 3,
      position: 5,
    });
    await store.append(b, [big('After')]);
    await expectWholeAndUnchanged(
      new Map([
        [a, 4],
        [b, 2],
      ]),
    );
  });

  it('read-only: writes are refused as not writable, reads go on, writes resume once writable', async () => {
    const a = uniqueStream('a');
    await store.append(a, [testEvent('Before')]);

    connection.pragma('query_only = ON');
    const failure = await failureOf(store.append(a, [testEvent('Lost')]));
    expect(codeOf(failure)).toMatch(/^SQLITE_READONLY/);
    expect(isDiskFailure(failure)).toBe(true);
    expect(toProblem(failure).document).toMatchObject({ status: 503, code: 'STORE_NOT_WRITABLE' });
    await expectWholeAndUnchanged(new Map([[a, 1]]));

    connection.pragma('query_only = OFF');
    await store.append(a, [testEvent('After')]);
    await expectWholeAndUnchanged(new Map([[a, 2]]));
  });
});
