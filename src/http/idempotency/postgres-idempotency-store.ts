import type { Pool } from 'pg';
import { migratePostgres } from '../../stores/postgres/postgres-migrations';
import { rewriteTable } from '../../stores/postgres/postgres-purge';
import {
  type PostgresTimeouts,
  createPostgresPool,
  untilSucceeded,
} from '../../stores/postgres/postgres-pool';
import {
  type IdempotencyBegin,
  IdempotencyExpiry,
  type IdempotencyRow,
  type IdempotencyStore,
  type IdempotencyStoreOptions,
  outcomeOf,
} from './idempotency-store';

const SCHEMA_LOCK = 7_264_533;

/** A key claimed and released in turn by others can outrun us this often before we give up. */
const CLAIM_ATTEMPTS = 10;

/** Idempotency keys in PostgreSQL, shared by every instance of the service. */
export class PostgresIdempotencyStore implements IdempotencyStore {
  private readonly pool: Pool;
  private readonly schema: () => Promise<void>;
  private readonly expiry: IdempotencyExpiry;

  /**
   * Connects to `connectionString`; records live `options.ttlSeconds`; `options.timeouts` bound
   * connecting and each statement (default: those of a 10 s request deadline).
   */
  constructor(
    connectionString: string,
    options: IdempotencyStoreOptions & { readonly timeouts?: PostgresTimeouts },
  ) {
    this.expiry = new IdempotencyExpiry(options);
    this.pool = createPostgresPool(connectionString, {
      max: 4,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    // Versioned and under an advisory lock, like the other stores: instances starting together
    // would otherwise race on CREATE TABLE IF NOT EXISTS. Made again on the next use if the
    // database was down at start-up.
    this.schema = untilSucceeded(() =>
      migratePostgres(this.pool, {
        versionTable: 'idempotency_schema_version',
        lock: SCHEMA_LOCK,
        migrations: [
          {
            version: 1,
            sql: `CREATE TABLE IF NOT EXISTS idempotency_keys (
           scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
           status INTEGER, body TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (scope, key))`,
          },
          {
            // The data subject of each record, so theirs can be deleted; indexes for that and
            // for sweeping expired records. Tables of version 1 gain the column with it.
            version: 2,
            sql: `ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS subject_ref TEXT;
           CREATE INDEX IF NOT EXISTS idempotency_keys_subject ON idempotency_keys (subject_ref)
             WHERE subject_ref IS NOT NULL;
           CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at)`,
          },
        ],
      }),
    );
    this.schema().catch(() => undefined);
  }

  private get ready(): Promise<void> {
    return this.schema();
  }

  async begin(
    scope: string,
    key: string,
    requestHash: string,
    subjectRef?: string,
  ): Promise<IdempotencyBegin> {
    await this.ready;
    const { now, cutoff, sweep } = this.expiry.next();
    if (sweep)
      await this.pool.query('DELETE FROM idempotency_keys WHERE created_at < $1', [cutoff]);
    // The claim and the read are two statements: a release can fall between them, and the
    // key is then free again, so claim anew. An expired record is taken over as if new.
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
      const claimed = await this.pool.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, created_at, subject_ref)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (scope, key) DO UPDATE SET
           request_hash = excluded.request_hash, status = NULL, body = NULL,
           created_at = excluded.created_at, subject_ref = excluded.subject_ref
         WHERE idempotency_keys.created_at < $6`,
        [scope, key, requestHash, now, subjectRef ?? null, cutoff],
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

  async deleteSubject(subjectRef: string): Promise<number> {
    await this.ready;
    const deleted = await this.pool.query('DELETE FROM idempotency_keys WHERE subject_ref = $1', [
      subjectRef,
    ]);
    return deleted.rowCount ?? 0;
  }

  /**
   * Rewrites the table, its TOAST table and indexes (VACUUM FULL), so no deleted answer stays
   * in their files: see `rewriteTable`. Commands with a key wait while it runs; the table
   * holds IDEMPOTENCY_TTL's worth of answers, so keep purges to erasures.
   */
  async purgeDeleted(): Promise<void> {
    await this.ready;
    await rewriteTable(this.pool, 'idempotency_keys');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
