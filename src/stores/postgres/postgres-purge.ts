import type { Pool } from 'pg';
import { longStatement, withClient } from './postgres-pool';

/** How long a purge waits for the table's other users before giving up (and failing). */
const PURGE_LOCK_TIMEOUT = '5s';

/**
 * Rewrites a table and its indexes (`VACUUM FULL`) so that deleted rows are no longer in its
 * files. A plain VACUUM only marks their space free: a dead row version that no live row is
 * moved over (say, the last row written to a full page, updated onto another page) keeps its
 * bytes in the file. The rewrite holds an exclusive lock on the table while it runs, which is
 * short for the small tables this is meant for; a lock timeout keeps a long transaction
 * elsewhere from stalling every user of the table behind the purge. PostgreSQL's WAL, and any
 * standby, base backup or WAL archive, keep old versions until recycled: no statement reaches
 * those.
 */
export async function rewriteTable(pool: Pool, table: string): Promise<void> {
  await withClient(pool, async (client) => {
    try {
      // The rewrite may take longer than a request's statement timeout; the lock wait may not.
      await client.query(`SET lock_timeout = '${PURGE_LOCK_TIMEOUT}'; SET statement_timeout = 0`);
      // Outside a transaction: VACUUM refuses to run in one.
      await client.query(longStatement(`VACUUM FULL ${table}`));
    } finally {
      await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
    }
  });
}
