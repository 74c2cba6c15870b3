import type Database from 'better-sqlite3';
import { migrate, openWalDatabase } from '../../stores/sqlite/sqlite-database';
import {
  type IdempotencyBegin,
  type IdempotencyRow,
  type IdempotencyStore,
  outcomeOf,
} from './idempotency-store';

/** Idempotency keys in a SQLite file (the embedded default). */
export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(fileName: string) {
    this.db = openWalDatabase({ fileName });
    migrate(this.db, [
      {
        version: 1,
        sql: `CREATE TABLE IF NOT EXISTS idempotency_keys (
          scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
          status INTEGER, body TEXT, created_at TEXT NOT NULL, PRIMARY KEY (scope, key))`,
      },
    ]);
    this.statements = {
      claim: this.db.prepare(
        'INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
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
    };
  }

  begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    return settle(() => {
      // Claim and read run back to back on one thread: no release can fall between them.
      if (
        this.statements.claim.run(scope, key, requestHash, new Date().toISOString()).changes === 1
      )
        return { state: 'new' };
      return outcomeOf(this.statements.find.get(scope, key) as IdempotencyRow, requestHash);
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

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

// better-sqlite3 is synchronous; callers of the port expect failures as rejected promises.
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
