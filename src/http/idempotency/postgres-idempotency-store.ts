import { Pool } from 'pg';
import { migratePostgres } from '../../stores/postgres/postgres-migrations';
import {
  type IdempotencyBegin,
  type IdempotencyRow,
  type IdempotencyStore,
  outcomeOf,
} from './idempotency-store';

const SCHEMA_LOCK = 7_264_533;

/** A key claimed and released in turn by others can outrun us this often before we give up. */
const CLAIM_ATTEMPTS = 10;

/** Idempotency keys in PostgreSQL, shared by every instance of the service. */
export class PostgresIdempotencyStore implements IdempotencyStore {
  private readonly pool: Pool;
  private readonly ready: Promise<void>;

  constructor(connectionString: string) {
    this.pool = new Pool({ connectionString, max: 4 });
    this.pool.on('error', () => undefined);
    // Versioned and under an advisory lock, like the other stores: instances starting together
    // would otherwise race on CREATE TABLE IF NOT EXISTS.
    this.ready = migratePostgres(this.pool, {
      versionTable: 'idempotency_schema_version',
      lock: SCHEMA_LOCK,
      migrations: [
        {
          version: 1,
          sql: `CREATE TABLE IF NOT EXISTS idempotency_keys (
           scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
           status INTEGER, body TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (scope, key))`,
        },
      ],
    });
    this.ready.catch(() => undefined);
  }

  async begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    await this.ready;
    // The claim and the read are two statements: a release can fall between them, and the
    // key is then free again, so claim anew.
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
      const claimed = await this.pool.query(
        'INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [scope, key, requestHash],
      );
      if (claimed.rowCount === 1) return { state: 'new' };
      const { rows } = await this.pool.query<IdempotencyRow>(
        'SELECT request_hash, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2',
        [scope, key],
      );
      if (rows[0]) return outcomeOf(rows[0], requestHash);
    }
    throw new Error(`idempotency key ${key} kept being claimed and released: try again`);
  }

  async complete(scope: string, key: string, status: number, body: unknown): Promise<void> {
    await this.ready;
    await this.pool.query(
      'UPDATE idempotency_keys SET status = $1, body = $2 WHERE scope = $3 AND key = $4',
      [status, JSON.stringify(body ?? null), scope, key],
    );
  }

  async release(scope: string, key: string): Promise<void> {
    await this.ready;
    await this.pool.query(
      'DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL',
      [scope, key],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
