import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { asError } from '../../shared/as-error';

/** How SQLite makes a commit durable; see docs/design.md, "Durability". */
export type SqliteSynchronous = 'NORMAL' | 'FULL';

/** How to open the event database. */
export interface SqliteDatabaseOptions {
  /** Path of the database file; created with its folder when missing. */
  readonly fileName: string;
  /** `NORMAL` (default) or `FULL`. */
  readonly synchronous?: SqliteSynchronous;
  /** How long a writer waits for another connection's write lock, in ms; default 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * Zero deleted content in the file (`PRAGMA secure_delete`), for files holding personal data
   * or keys: without it, a deleted row stays readable in free space until the page is reused.
   */
  readonly secureDelete?: boolean;
  /**
   * Test seam: called with the connection once it is open, so that a test can stage a full or
   * read-only disk on it where it cannot mount one (`PRAGMA max_page_count` makes SQLite answer
   * SQLITE_FULL exactly as a full disk does; `PRAGMA query_only` answers SQLITE_READONLY).
   */
  readonly onOpen?: (db: Database.Database) => void;
}

/** A schema change, applied once, in order, by the app (SQLite's `user_version` counts them). */
export type SqliteMigration = { readonly version: number; readonly sql: string };

/**
 * The event database's schema, as migrations. 1: the events table; the position is the rowid,
 * so reading the log in order is a rowid scan. 2: each stream's head (last revision and hash),
 * written with every append, so that verification can tell a stream whose last events were
 * removed (its chain alone would still look whole); filled from the events for existing files.
 */
export const EVENT_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY,
  event_id    TEXT    NOT NULL UNIQUE,
  stream_name TEXT    NOT NULL,
  revision    INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT    NOT NULL,
  recorded_at TEXT    NOT NULL,
  prev_hash   TEXT,
  hash        TEXT    NOT NULL,
  UNIQUE (stream_name, revision)
);`,
  },
  {
    version: 2,
    sql: `
CREATE TABLE streams (
  stream_name TEXT    PRIMARY KEY,
  revision    INTEGER NOT NULL,
  hash        TEXT    NOT NULL
) WITHOUT ROWID;
INSERT INTO streams (stream_name, revision, hash)
  SELECT stream_name, revision, hash FROM events e
   WHERE revision = (SELECT MAX(revision) FROM events WHERE stream_name = e.stream_name);`,
  },
];

/**
 * Opens (creating if needed) a SQLite file in WAL mode with the chosen durability.
 *
 * Switching a fresh file to WAL takes an exclusive lock that SQLite does not wait for with the
 * busy handler: when two processes open a new file at the same moment (the service and the CLI,
 * or two CLI runs), one of them gets SQLITE_BUSY at once. That is retried here, with a short
 * back-off, for as long as the busy timeout allows.
 */
export function openWalDatabase(options: SqliteDatabaseOptions): Database.Database {
  mkdirSync(dirname(options.fileName), { recursive: true });
  const timeoutMs = options.busyTimeoutMs ?? 5000;
  const db = new Database(options.fileName, { timeout: timeoutMs });
  try {
    retryWhileBusy(() => db.pragma('journal_mode = WAL'), timeoutMs);
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    if (options.secureDelete) db.pragma('secure_delete = ON');
    options.onOpen?.(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Opens (creating if needed) the event database; see openWalDatabase. */
export function openEventDatabase(options: SqliteDatabaseOptions): Database.Database {
  const db = openWalDatabase(options);
  try {
    migrate(db, EVENT_MIGRATIONS);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Brings the file's schema up to the newest migration: each one not applied yet runs in a
 * write transaction with the new `user_version`, so two processes starting at once apply it
 * once. A file from a newer version of the app is refused rather than written.
 */
export function migrate(db: Database.Database, migrations: readonly SqliteMigration[]): void {
  const newest = migrations[migrations.length - 1]?.version ?? 0;
  const current = () => db.pragma('user_version', { simple: true }) as number;
  if (current() === newest) return;
  db.transaction(() => {
    const version = current();
    if (version > newest) {
      throw new Error(
        `${db.name} has schema version ${version}, newer than this app's ${newest}: run the newer app, or restore a backup`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= version) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}

/**
 * Copies every WAL frame into the database file and truncates the WAL to nothing, so that no
 * earlier version of a page (one still holding deleted content) survives in it. Waits for
 * readers and writers up to the busy timeout; throws when one still holds an old snapshot.
 */
export function truncateWal(db: Database.Database): void {
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
  if (result?.busy !== 0) {
    throw new Error(
      `${db.name}: the WAL could not be truncated while another connection was using it; try again`,
    );
  }
}

/**
 * Runs synchronous better-sqlite3 work behind a promise-returning port: callers expect a
 * failure as a rejected promise, never as a throw.
 */
export function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(asError(error));
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `work`, running it again while it fails with SQLITE_BUSY, until `timeoutMs` has passed.
 * Waits synchronously between tries (better-sqlite3 is synchronous); meant for opening a file.
 */
export function retryWhileBusy<T>(work: () => T, timeoutMs: number, now = Date.now): T {
  const deadline = now() + timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return work();
    } catch (error) {
      if (!isBusy(error) || now() >= deadline) throw error;
      Atomics.wait(sleeper, 0, 0, Math.min(5 * 2 ** attempt, 100));
    }
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
