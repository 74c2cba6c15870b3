import type Database from 'better-sqlite3';
import { migrate, openWalDatabase, settle, truncateWal } from '../../stores/sqlite/sqlite-database';
import {
  type IdempotencyBegin,
  IdempotencyExpiry,
  type IdempotencyRow,
  type IdempotencyStore,
  type IdempotencyStoreOptions,
  outcomeOf,
} from './idempotency-store';

/**
 * The file's schema. 1: the keys, dated by `created_at` (ISO 8601 in UTC, so text order is time
 * order). 2: the data subject of each record, so theirs can be deleted; indexes for that and
 * for sweeping expired records. Files of version 1 gain the column with it.
 */
const IDEMPOTENCY_MIGRATIONS = [
  {
    version: 1,
    sql: `CREATE TABLE IF NOT EXISTS idempotency_keys (
          scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
          status INTEGER, body TEXT, created_at TEXT NOT NULL, PRIMARY KEY (scope, key))`,
  },
  {
    version: 2,
    sql: `ALTER TABLE idempotency_keys ADD COLUMN subject_ref TEXT;
          CREATE INDEX idempotency_keys_subject ON idempotency_keys (subject_ref)
            WHERE subject_ref IS NOT NULL;
          CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);`,
  },
] as const;

/**
 * Idempotency keys in a SQLite file (the embedded default). `secure_delete` is on: the answers
 * may hold personal data, and a deleted one must not linger in the file's free space.
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly db: Database.Database;
  private readonly expiry: IdempotencyExpiry;
  private readonly statements;
  private readonly claim: Database.Transaction<
    (
      scope: string,
      key: string,
      requestHash: string,
      subjectRef: string | null,
    ) => IdempotencyRow | undefined
  >;

  /** Opens (creating if needed) the file `fileName`; records live `options.ttlSeconds`. */
  constructor(fileName: string, options: IdempotencyStoreOptions) {
    this.expiry = new IdempotencyExpiry(options);
    this.db = openWalDatabase({ fileName, secureDelete: true });
    try {
      migrate(this.db, IDEMPOTENCY_MIGRATIONS);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.statements = {
      // A new key is inserted; an expired one is taken over as if new. `changes` says which.
      claim: this.db.prepare(
        `INSERT INTO idempotency_keys (scope, key, request_hash, created_at, subject_ref)
         VALUES (@scope, @key, @requestHash, @now, @subjectRef)
         ON CONFLICT (scope, key) DO UPDATE SET
           request_hash = excluded.request_hash, status = NULL, body = NULL,
           created_at = excluded.created_at, subject_ref = excluded.subject_ref
         WHERE idempotency_keys.created_at < @cutoff`,
      ),
      find: this.db.prepare(
        'SELECT request_hash, status, body FROM idempotency_keys WHERE scope = ? AND key = ?',
      ),
      complete: this.db.prepare(
        'UPDATE idempotency_keys SET status = ?, body = ? WHERE scope = ? AND key = ?',
      ),
      release: this.db.prepare(
        'DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status IS NULL',
      ),
      sweep: this.db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
      deleteSubject: this.db.prepare('DELETE FROM idempotency_keys WHERE subject_ref = ?'),
    };
    // Claim and read in one write transaction: no release, here or in another process, can
    // fall between them. Nothing back means claimed; a row is what an earlier request left.
    this.claim = this.db.transaction(
      (scope: string, key: string, requestHash: string, subjectRef: string | null) => {
        const { now, cutoff, sweep } = this.expiry.next();
        if (sweep) this.statements.sweep.run(cutoff.toISOString());
        const claimed = this.statements.claim.run({
          scope,
          key,
          requestHash,
          subjectRef,
          now: now.toISOString(),
          cutoff: cutoff.toISOString(),
        });
        if (claimed.changes === 1) return undefined;
        return this.statements.find.get(scope, key) as IdempotencyRow;
      },
    );
  }

  begin(
    scope: string,
    key: string,
    requestHash: string,
    subjectRef?: string,
  ): Promise<IdempotencyBegin> {
    return settle(() => {
      const row = this.claim.immediate(scope, key, requestHash, subjectRef ?? null);
      return row === undefined ? { state: 'new' } : outcomeOf(row, requestHash);
    });
  }

  complete(scope: string, key: string, status: number, body: unknown): Promise<void> {
    return settle(() => {
      this.statements.complete.run(status, JSON.stringify(body ?? null), scope, key);
    });
  }

  release(scope: string, key: string): Promise<void> {
    return settle(() => {
      this.statements.release.run(scope, key);
    });
  }

  deleteSubject(subjectRef: string): Promise<number> {
    return settle(() => this.statements.deleteSubject.run(subjectRef).changes);
  }

  purgeDeleted(): Promise<void> {
    return settle(() => truncateWal(this.db));
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
