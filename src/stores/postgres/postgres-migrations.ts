import type { Pool, PoolClient, QueryResultRow } from 'pg';
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
  // A migration may rightly run long on a big table: the pool's bounds are for requests.
  const query = <R extends QueryResultRow>(client: PoolClient, text: string, values?: unknown[]) =>
    client.query<R>(longStatement(text, values));
  await withClient(pool, async (client) => {
    await query(client, 'SET statement_timeout = 0');
    try {
      await query(client, 'SELECT pg_advisory_lock($1)', [lock]);
      try {
        await query(client, 'BEGIN');
        await query(
          client,
          `CREATE TABLE IF NOT EXISTS ${versionTable} (id SMALLINT PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`,
        );
        const { rows } = await query<{ version: number }>(
          client,
          `SELECT version FROM ${versionTable} WHERE id = 1`,
        );
        const version = rows[0]?.version ?? 0;
        if (version > newest) {
          throw new Error(
            `${versionTable} says schema version ${version}, newer than this app's ${newest}: run the newer app, or restore a backup`,
          );
        }
        for (const migration of migrations) {
          if (migration.version > version) await query(client, migration.sql);
        }
        await query(
          client,
          `INSERT INTO ${versionTable} (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
          [newest],
        );
        await query(client, 'COMMIT');
      } catch (error) {
        await query(client, 'ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        await query(client, 'SELECT pg_advisory_unlock($1)', [lock]).catch(() => undefined);
      }
    } finally {
      await query(client, 'RESET statement_timeout').catch(() => undefined);
    }
  });
}
