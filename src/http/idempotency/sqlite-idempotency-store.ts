import type Database from 'better-sqlite3';
import { migrate, openWalDatabase } from '../../stores/sqlite/sqlite-database';
import type { IdempotencyBegin, IdempotencyStore } from './idempotency-store';

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
    return new Promise((resolve) => {
      if (
        this.statements.claim.run(scope, key, requestHash, new Date().toISOString()).changes === 1
      ) {
        resolve({ state: 'new' });
        return;
      }
      const row = this.statements.find.get(scope, key) as {
        request_hash: string;
        status: number | null;
        body: string | null;
      };
      resolve(describe(row, requestHash));
    });
  }

  complete(scope: string, key: string, status: number, body: unknown): Promise<void> {
    this.statements.complete.run(status, JSON.stringify(body ?? null), scope, key);
    return Promise.resolve();
  }

  release(scope: string, key: string): Promise<void> {
    this.statements.release.run(scope, key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

/** Shared by both stores: what an existing row means for a new request. */
export function describe(
  row: { request_hash: string; status: number | null; body: string | null },
  requestHash: string,
): IdempotencyBegin {
  if (row.request_hash !== requestHash) return { state: 'mismatch' };
  if (row.status === null) return { state: 'in_progress' };
  return { state: 'done', status: row.status, body: JSON.parse(row.body ?? 'null') as unknown };
}
