import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import type {
  SubjectKey,
  SubjectKeyEntry,
  SubjectKeyStore,
  SubjectKeyStoreCopy,
} from '../../event-sourcing/personal-data/key-store';
import { migratePostgres } from '../postgres/postgres-migrations';
import { rewriteTable } from '../postgres/postgres-purge';
import {
  type PostgresTimeouts,
  createPostgresPool,
  untilSucceeded,
} from '../postgres/postgres-pool';
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
} from './subject-key-rows';

const SCHEMA_LOCK = 7_264_534;

/** As in the SQLite file: a live key or a tombstone per subject, and the one pseudonym secret. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS subject_keys (
  subject_ref TEXT PRIMARY KEY,
  key         BYTEA NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  erased_at   TEXT NULL,
  CHECK ((key IS NULL) = (erased_at IS NOT NULL)));
CREATE TABLE IF NOT EXISTS pseudonym_secret (
  id          SMALLINT PRIMARY KEY CHECK (id = 1),
  secret      BYTEA NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now());`;

/**
 * Creates the missing keys and reads every asked-for row in one round trip. The rows are
 * inserted in the order given (sorted), so concurrent batches wait on each other in one order.
 * Rows this statement inserted come from RETURNING; the others from the statement's snapshot,
 * which misses a row another transaction committed after the snapshot was taken (its insert
 * then did nothing here): `keys` reads those few again.
 */
const CREATE_AND_READ = `
WITH wanted AS (
  SELECT ref, key, n FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS w (ref, key, n)
), created AS (
  INSERT INTO subject_keys (subject_ref, key)
  SELECT ref, key FROM wanted ORDER BY n
  ON CONFLICT (subject_ref) DO NOTHING
  RETURNING subject_ref, key, erased_at
)
SELECT subject_ref, key, erased_at FROM created
UNION ALL
SELECT subject_ref, key, erased_at FROM subject_keys WHERE subject_ref = ANY ($1::text[])`;

const READ =
  'SELECT subject_ref, key, erased_at FROM subject_keys WHERE subject_ref = ANY ($1::text[])';

/**
 * Subject keys in PostgreSQL (`KEY_STORE=postgres`), in their own tables beside the other
 * stores, shared by every instance of the service. Keys are bytea.
 *
 * Erasing rewrites the row without its key; the old row version stays in the table's file
 * until `purgeDeleted` rewrites it. PostgreSQL's own WAL, and any base backup or WAL archive,
 * keep the bytes until they are recycled or deleted: no statement can reach those.
 */
export class PostgresSubjectKeyStore implements SubjectKeyStore, SubjectKeyStoreCopy {
  private readonly pool: Pool;
  private readonly schema: () => Promise<void>;
  private secret: Promise<Buffer> | undefined;

  /**
   * Connects to `connectionString` and starts making the tables; every call waits for them.
   * `options.timeouts` bound connecting and each statement (default: those of a 10 s request
   * deadline).
   */
  constructor(connectionString: string, options: { readonly timeouts?: PostgresTimeouts } = {}) {
    this.pool = createPostgresPool(connectionString, {
      max: 4,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    // Versioned and under an advisory lock, like the other stores: instances starting together
    // would otherwise race on CREATE TABLE IF NOT EXISTS. Made again on the next use if the
    // database was down at start-up.
    this.schema = untilSucceeded(() =>
      migratePostgres(this.pool, {
        versionTable: 'subject_key_schema_version',
        lock: SCHEMA_LOCK,
        migrations: [{ version: 1, sql: SCHEMA }],
      }),
    );
    this.schema().catch(() => undefined);
  }

  private get ready(): Promise<void> {
    return this.schema();
  }

  pseudonymSecret(): Promise<Buffer> {
    if (this.secret === undefined) {
      const loading = this.loadSecret();
      this.secret = loading;
      // A failed load is not kept: the next call tries again.
      loading.catch(() => {
        if (this.secret === loading) this.secret = undefined;
      });
    }
    // A copy, so that no caller can change the secret the others get.
    return this.secret.then((secret) => Buffer.from(secret));
  }

  private async loadSecret(): Promise<Buffer> {
    await this.ready;
    // Two statements, not one: a statement's snapshot would not show the row another instance
    // committed while this insert waited on it, whereas the SELECT after it does.
    await this.pool.query(
      'INSERT INTO pseudonym_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING',
      [randomBytes(KEY_BYTES)],
    );
    const { rows } = await this.pool.query<{ secret: Buffer }>(
      'SELECT secret FROM pseudonym_secret WHERE id = 1',
    );
    return rows[0]!.secret;
  }

  async keys(subjectRefs: readonly string[], create: boolean): Promise<Map<string, SubjectKey>> {
    await this.ready;
    const refs = distinctRefs(subjectRefs);
    if (refs.length === 0) return new Map();
    if (!create) return keysByRef((await this.pool.query<SubjectKeyRow>(READ, [refs])).rows);
    const fresh = refs.map(() => randomBytes(KEY_BYTES));
    const found = keysByRef(
      (await this.pool.query<SubjectKeyRow>(CREATE_AND_READ, [refs, fresh])).rows,
    );
    const missed = refs.filter((ref) => !found.has(ref));
    if (missed.length > 0) {
      for (const [ref, key] of keysByRef(
        (await this.pool.query<SubjectKeyRow>(READ, [missed])).rows,
      ))
        found.set(ref, key);
    }
    return found;
  }

  async erase(subjectRef: string, erasedAt: string): Promise<{ readonly erasedAt: string }> {
    await this.ready;
    const { rows } = await this.pool.query<{ erased_at: string }>(
      `INSERT INTO subject_keys (subject_ref, key, erased_at) VALUES ($1, NULL, $2)
       ON CONFLICT (subject_ref) DO UPDATE
         SET key = NULL, erased_at = COALESCE(subject_keys.erased_at, excluded.erased_at)
       RETURNING erased_at`,
      [subjectRef, erasedAt],
    );
    return { erasedAt: rows[0]!.erased_at };
  }

  /**
   * Rewrites the key table (VACUUM FULL), so no erased key stays in its files: see
   * `rewriteTable`. The table is small (one short row per subject), so the lock is brief.
   */
  async purgeDeleted(): Promise<void> {
    await this.ready;
    await rewriteTable(this.pool, 'subject_keys');
  }

  /**
   * Whether the database (its search_path) holds a key store already, found without creating
   * one: the encrypt-log migration reads the old store only where there is one.
   */
  static async existsAt(connectionString: string): Promise<boolean> {
    const pool = new Pool({ connectionString, max: 1 });
    pool.on('error', () => undefined);
    try {
      const { rows } = await pool.query<{ found: boolean }>(
        "SELECT to_regclass('pseudonym_secret') IS NOT NULL AS found",
      );
      return rows[0]!.found;
    } finally {
      await pool.end();
    }
  }

  async existingPseudonymSecret(): Promise<Buffer | undefined> {
    await this.ready;
    const { rows } = await this.pool.query<{ secret: Buffer }>(
      'SELECT secret FROM pseudonym_secret WHERE id = 1',
    );
    return rows[0]?.secret;
  }

  async readEntries(afterSubjectRef: string, maxCount: number): Promise<SubjectKeyEntry[]> {
    await this.ready;
    const { rows } = await this.pool.query<SubjectKeyRow>(
      'SELECT subject_ref, key, erased_at FROM subject_keys WHERE subject_ref COLLATE "C" > $1 ORDER BY subject_ref COLLATE "C" LIMIT $2',
      [afterSubjectRef, maxCount],
    );
    return entriesOf(rows);
  }

  async adoptPseudonymSecret(secret: Buffer): Promise<void> {
    assertSecretSize(secret);
    await this.ready;
    await this.pool.query(
      'INSERT INTO pseudonym_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING',
      [secret],
    );
    const stored = await this.existingPseudonymSecret();
    assertSameSecret(stored!, secret);
    this.secret = Promise.resolve(stored!);
  }

  async importEntries(entries: readonly SubjectKeyEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.ready;
    const rows = entries.map(rowOf);
    // Rows already there are left alone, then compared: a key is never replaced.
    await this.pool.query(
      `INSERT INTO subject_keys (subject_ref, key, erased_at)
       SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[])
       ON CONFLICT (subject_ref) DO NOTHING`,
      [rows.map((row) => row[0]), rows.map((row) => row[1]), rows.map((row) => row[2])],
    );
    const stored = keysByRef(
      (await this.pool.query<SubjectKeyRow>(READ, [entries.map((entry) => entry.subjectRef)])).rows,
    );
    for (const entry of entries) assertSameEntry(stored.get(entry.subjectRef), entry);
  }

  async ping(): Promise<void> {
    await this.ready;
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
