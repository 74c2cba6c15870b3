import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type {
  SubjectKey,
  SubjectKeyEntry,
  SubjectKeyStore,
  SubjectKeyStoreCopy,
} from '../../event-sourcing/personal-data/key-store';
import { migrate, openWalDatabase, settle, truncateWal } from '../sqlite/sqlite-database';
import {
  KEY_BYTES,
  type SubjectKeyRow,
  assertSameEntry,
  assertSameSecret,
  assertSecretSize,
  distinctRefs,
  entriesOf,
  keysByRef,
  rowOf,
  subjectKeyOf,
} from './subject-key-rows';

/**
 * The key file's schema. A row holds a live key, or (key NULL) the tombstone of an erased
 * subject; never both, never neither. The pseudonym secret is the one row of its own table.
 */
const KEY_MIGRATIONS = [
  {
    version: 1,
    sql: `
CREATE TABLE subject_keys (
  subject_ref TEXT PRIMARY KEY,
  key         BLOB NULL,
  created_at  TEXT NOT NULL,
  erased_at   TEXT NULL,
  CHECK ((key IS NULL) = (erased_at IS NOT NULL))
) WITHOUT ROWID;
CREATE TABLE pseudonym_secret (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  secret      BLOB NOT NULL,
  created_at  TEXT NOT NULL
);`,
  },
] as const;

/**
 * Subject keys in their own SQLite file (`DATA_DIR/keys.sqlite`), apart from the event log so
 * that erasing a key never touches a hashed event.
 *
 * `secure_delete` zeroes a key's bytes in the file when its row is rewritten as a tombstone;
 * the WAL may still hold the page as it was until `purgeDeleted` checkpoints and truncates it.
 * Commits are synchronous=FULL: a key lost to a power cut after data was encrypted with it
 * would make that data unreadable, and a lost erasure would bring a key back.
 */
export class SqliteSubjectKeyStore implements SubjectKeyStore, SubjectKeyStoreCopy {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly readKeys: Database.Transaction<(refs: readonly string[]) => SubjectKeyRow[]>;
  private readonly createKeys: Database.Transaction<
    (refs: readonly string[], createdAt: string) => SubjectKeyRow[]
  >;
  private readonly copyIn: Database.Transaction<
    (entries: readonly SubjectKeyEntry[], createdAt: string) => void
  >;
  private secret: Buffer | undefined;

  /** Opens (creating with its folder if needed) the key file `fileName`. */
  constructor(fileName: string, options: { readonly busyTimeoutMs?: number } = {}) {
    this.db = openWalDatabase({
      fileName,
      synchronous: 'FULL',
      secureDelete: true,
      busyTimeoutMs: options.busyTimeoutMs,
    });
    try {
      migrate(this.db, KEY_MIGRATIONS);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.statements = {
      createSecret: this.db.prepare(
        'INSERT OR IGNORE INTO pseudonym_secret (id, secret, created_at) VALUES (1, ?, ?)',
      ),
      secret: this.db.prepare('SELECT secret FROM pseudonym_secret WHERE id = 1').pluck(),
      find: this.db.prepare(
        'SELECT subject_ref, key, erased_at FROM subject_keys WHERE subject_ref = ?',
      ),
      create: this.db.prepare(
        'INSERT OR IGNORE INTO subject_keys (subject_ref, key, created_at) VALUES (?, ?, ?)',
      ),
      // One statement: the row becomes a tombstone, or one is made; the first erasedAt stays.
      erase: this.db
        .prepare(
          `INSERT INTO subject_keys (subject_ref, key, created_at, erased_at) VALUES (?, NULL, ?, ?)
           ON CONFLICT (subject_ref) DO UPDATE
             SET key = NULL, erased_at = COALESCE(subject_keys.erased_at, excluded.erased_at)
           RETURNING erased_at`,
        )
        .pluck(),
      ping: this.db.prepare('SELECT 1'),
      entries: this.db.prepare(
        'SELECT subject_ref, key, erased_at FROM subject_keys WHERE subject_ref > ? ORDER BY subject_ref LIMIT ?',
      ),
      insert: this.db.prepare(
        'INSERT INTO subject_keys (subject_ref, key, created_at, erased_at) VALUES (?, ?, ?, ?)',
      ),
    };
    const find = (ref: string) => this.statements.find.get(ref) as SubjectKeyRow | undefined;
    const findAll = (refs: readonly string[]) =>
      refs.map(find).filter((row): row is SubjectKeyRow => row !== undefined);
    // A read transaction, so the batch is one snapshot even while another process erases.
    this.readKeys = this.db.transaction(findAll);
    // Creators take the write lock first (IMMEDIATE): another process creating the same subject
    // waits, then its INSERT OR IGNORE finds this key and its SELECT returns it.
    this.createKeys = this.db.transaction((refs: readonly string[], createdAt: string) => {
      for (const ref of refs) {
        if (find(ref) === undefined)
          this.statements.create.run(ref, randomBytes(KEY_BYTES), createdAt);
      }
      return findAll(refs);
    });
    this.copyIn = this.db.transaction((entries: readonly SubjectKeyEntry[], createdAt: string) => {
      for (const entry of entries) {
        const stored = find(entry.subjectRef);
        if (stored) assertSameEntry(subjectKeyOf(stored), entry);
        else {
          const [ref, key, erasedAt] = rowOf(entry);
          this.statements.insert.run(ref, key, createdAt, erasedAt);
        }
      }
    });
  }

  pseudonymSecret(): Promise<Buffer> {
    return settle(() => {
      if (this.secret === undefined) {
        // Two processes starting at once both try; the first row wins and both read it back.
        this.statements.createSecret.run(randomBytes(KEY_BYTES), new Date().toISOString());
        this.secret = this.statements.secret.get() as Buffer;
      }
      return Buffer.from(this.secret);
    });
  }

  keys(subjectRefs: readonly string[], create: boolean): Promise<Map<string, SubjectKey>> {
    return settle(() => {
      const refs = distinctRefs(subjectRefs);
      if (refs.length === 0) return new Map<string, SubjectKey>();
      return keysByRef(
        create
          ? this.createKeys.immediate(refs, new Date().toISOString())
          : this.readKeys.deferred(refs),
      );
    });
  }

  erase(subjectRef: string, erasedAt: string): Promise<{ readonly erasedAt: string }> {
    return settle(() => {
      const now = new Date().toISOString();
      return { erasedAt: this.statements.erase.get(subjectRef, now, erasedAt) as string };
    });
  }

  purgeDeleted(): Promise<void> {
    return settle(() => truncateWal(this.db));
  }

  existingPseudonymSecret(): Promise<Buffer | undefined> {
    return settle(() => {
      const secret = this.statements.secret.get() as Buffer | undefined;
      return secret && Buffer.from(secret);
    });
  }

  readEntries(afterSubjectRef: string, maxCount: number): Promise<SubjectKeyEntry[]> {
    return settle(() =>
      entriesOf(this.statements.entries.all(afterSubjectRef, maxCount) as SubjectKeyRow[]),
    );
  }

  adoptPseudonymSecret(secret: Buffer): Promise<void> {
    return settle(() => {
      assertSecretSize(secret);
      this.statements.createSecret.run(secret, new Date().toISOString());
      const stored = this.statements.secret.get() as Buffer;
      assertSameSecret(stored, secret);
      this.secret = stored;
    });
  }

  importEntries(entries: readonly SubjectKeyEntry[]): Promise<void> {
    return settle(() => this.copyIn.immediate(entries, new Date().toISOString()));
  }

  ping(): Promise<void> {
    return settle(() => {
      this.statements.ping.get();
    });
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
