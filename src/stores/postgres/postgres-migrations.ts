import type { Pool } from 'pg';
import { failureKind } from '../../shared/transient';
import { longStatement, withClient } from './postgres-pool';

/** A schema change, applied once, in order, by the app. */
export type PostgresMigration = { readonly version: number; readonly sql: string };

/**
 * Brings a store's tables up to its newest migration. The version is kept in `versionTable`
 * (one row); every migration not applied yet runs in one transaction with the new version,
 * under an advisory lock so that processes starting together apply it once. A database from a
 * newer version of the app is refused rather than written.
 */
export async function migratePostgres(
  pool: Pool,
  options: { versionTable: string; lock: number; migrations: readonly PostgresMigration[] },
): Promise<void> {
  const { versionTable, lock, migrations } = options;
  const newest = migrations[migrations.length - 1]?.version ?? 0;
  await withClient(pool, async (client) => {
    // A migration may rightly run long on a big table, and so may the wait for another process
    // that is applying it: the pool's bounds are for requests. They stay on the short
    // statements around, so a connection lost between them is noticed.
    await client.query('SET statement_timeout = 0');
    let failed: unknown;
    try {
      await client.query(longStatement('SELECT pg_advisory_lock($1)', [lock]));
      await client.query('BEGIN');
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${versionTable} (id SMALLINT PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`,
      );
      const { rows } = await client.query<{ version: number }>(
        `SELECT version FROM ${versionTable} WHERE id = 1`,
      );
      const version = rows[0]?.version ?? 0;
      if (version > newest) {
        throw new Error(
          `${versionTable} says schema version ${version}, newer than this app's ${newest}: run the newer app, or restore a backup`,
        );
      }
      for (const migration of migrations) {
        if (migration.version > version) await client.query(longStatement(migration.sql));
      }
      await client.query(
        `INSERT INTO ${versionTable} (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
        [newest],
      );
      await client.query('COMMIT');
    } catch (error) {
      failed = error;
      throw error;
    } finally {
      // After a connection failure withClient closes the connection, which rolls back and
      // drops the lock; statements sent on it would only wait for the read timeout.
      if (failed === undefined || failureKind(failed) !== 'transient') {
        if (failed !== undefined) await client.query('ROLLBACK').catch(() => undefined);
        await client.query('SELECT pg_advisory_unlock($1)', [lock]).catch(() => undefined);
        await client.query('RESET statement_timeout').catch(() => undefined);
      }
    }
  });
}
