import type { Pool } from 'pg';
import { migratePostgres } from '../stores/postgres/postgres-migrations';
import {
  type PostgresTimeouts,
  createPostgresPool,
  untilSucceeded,
  withClient,
} from '../stores/postgres/postgres-pool';
import {
  KEPT_FINISHED_JOBS,
  type PostedJob,
  type VerificationJobBoard,
} from './verification-job-board';
import type { VerificationJobView } from './verification-jobs';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS verification_jobs (
  id TEXT PRIMARY KEY, view JSONB NOT NULL, running BOOLEAN NOT NULL,
  posted_at TIMESTAMPTZ NOT NULL DEFAULT now(), heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now());`;

const SCHEMA_LOCK = 7_264_534;

// Claims are made one at a time across instances (a lock of this transaction, in this schema).
const CLAIM_LOCK = `SELECT pg_advisory_xact_lock(hashtextextended('participant-progress/' || current_schema() || '/verification-jobs', 0))`;

/**
 * Verification jobs in PostgreSQL (read models there: several instances), so that any instance
 * answers for a job another runs. Times are the database's, so instances' clocks need not agree.
 */
export class PostgresVerificationJobBoard implements VerificationJobBoard<VerificationJobView> {
  private readonly pool: Pool;
  private readonly schema: () => Promise<void>;

  constructor(connectionString: string, options: { timeouts?: PostgresTimeouts } = {}) {
    this.pool = createPostgresPool(connectionString, {
      max: 2,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    this.schema = untilSucceeded(() =>
      migratePostgres(this.pool, {
        versionTable: 'verification_jobs_schema_version',
        lock: SCHEMA_LOCK,
        migrations: [{ version: 1, sql: SCHEMA }],
      }),
    );
    this.schema().catch(() => undefined);
  }

  async claim(view: VerificationJobView, staleAfterMs: number): Promise<{ runningId?: string }> {
    await this.schema();
    return withClient(this.pool, async (client) => {
      await client.query('BEGIN');
      try {
        await client.query(CLAIM_LOCK);
        const { rows } = await client.query<{ id: string }>(
          `SELECT id FROM verification_jobs
            WHERE running AND heartbeat_at > now() - make_interval(secs => $1::double precision / 1000)
            ORDER BY posted_at LIMIT 1`,
          [staleAfterMs],
        );
        if (rows[0]) {
          await client.query('ROLLBACK');
          return { runningId: rows[0].id };
        }
        await client.query(
          'INSERT INTO verification_jobs (id, view, running) VALUES ($1, $2::jsonb, true)',
          [view.id, JSON.stringify(view)],
        );
        await client.query('COMMIT');
        return {};
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  async save(view: VerificationJobView): Promise<void> {
    await this.schema();
    const running = view.status === 'running';
    await this.pool.query(
      `INSERT INTO verification_jobs (id, view, running) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (id) DO UPDATE SET view = excluded.view, running = excluded.running, heartbeat_at = now()`,
      [view.id, JSON.stringify(view), running],
    );
    if (!running)
      await this.pool.query(
        `DELETE FROM verification_jobs WHERE NOT running AND id NOT IN (
           SELECT id FROM verification_jobs WHERE NOT running ORDER BY posted_at DESC LIMIT $1)`,
        [KEPT_FINISHED_JOBS],
      );
  }

  async get(id: string): Promise<PostedJob<VerificationJobView> | undefined> {
    await this.schema();
    const { rows } = await this.pool.query<{ view: VerificationJobView; heartbeat_at: Date }>(
      'SELECT view, heartbeat_at FROM verification_jobs WHERE id = $1',
      [id],
    );
    return rows[0] && { view: rows[0].view, heartbeatAt: rows[0].heartbeat_at };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
