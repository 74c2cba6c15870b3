import { Pool } from 'pg';
import type { IdempotencyBegin, IdempotencyStore } from './idempotency-store';
import { describe } from './sqlite-idempotency-store';

/** Idempotency keys in PostgreSQL, shared by every instance of the service. */
export class PostgresIdempotencyStore implements IdempotencyStore {
  private readonly pool: Pool;
  private readonly ready: Promise<void>;

  constructor(connectionString: string) {
    this.pool = new Pool({ connectionString, max: 4 });
    this.pool.on('error', () => undefined);
    this.ready = this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS idempotency_keys (
           scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
           status INTEGER, body TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (scope, key))`,
      )
      .then(() => undefined);
    this.ready.catch(() => undefined);
  }

  async begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    await this.ready;
    const claimed = await this.pool.query(
      'INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [scope, key, requestHash],
    );
    if (claimed.rowCount === 1) return { state: 'new' };
    const { rows } = await this.pool.query<{
      request_hash: string;
      status: number | null;
      body: string | null;
    }>('SELECT request_hash, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2', [
      scope,
      key,
    ]);
    return describe(rows[0]!, requestHash);
  }

  async complete(scope: string, key: string, status: number, body: unknown): Promise<void> {
    await this.pool.query(
      'UPDATE idempotency_keys SET status = $1, body = $2 WHERE scope = $3 AND key = $4',
      [status, JSON.stringify(body ?? null), scope, key],
    );
  }

  async release(scope: string, key: string): Promise<void> {
    await this.pool.query(
      'DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL',
      [scope, key],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
