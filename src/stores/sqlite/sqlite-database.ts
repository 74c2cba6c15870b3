import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** How SQLite makes a commit durable; see README "Durability". */
export type SqliteSynchronous = 'NORMAL' | 'FULL';

/** How to open the event database. */
export interface SqliteDatabaseOptions {
  /** Path of the database file; created with its folder when missing. */
  readonly fileName: string;
  /** `NORMAL` (default) or `FULL`. */
  readonly synchronous?: SqliteSynchronous;
  /** How long a writer waits for another connection's write lock, in ms; default 5000. */
  readonly busyTimeoutMs?: number;
}

/** The events table: the position is the rowid, so reading the log in order is a rowid scan. */
export const EVENTS_SCHEMA = `
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
);`;

/** Opens (creating if needed) the event database in WAL mode with the chosen durability. */
export function openEventDatabase(options: SqliteDatabaseOptions): Database.Database {
  mkdirSync(dirname(options.fileName), { recursive: true });
  const db = new Database(options.fileName, { timeout: options.busyTimeoutMs ?? 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  db.exec(EVENTS_SCHEMA);
  return db;
}
