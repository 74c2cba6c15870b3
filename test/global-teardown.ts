import { Client } from 'pg';

/** Drops the database made by global-setup, so runs leave nothing behind. */
export default async function globalTeardown(): Promise<void> {
  const name = process.env.TEST_DATABASE_NAME;
  if (!name) return;
  // Bounded: a clean-up that cannot finish must not hold the run (it warns instead).
  const client = new Client({
    connectionString:
      process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    connectionTimeoutMillis: 10_000,
    query_timeout: 60_000,
  });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch (error) {
    process.stderr.write(`warning: could not drop the test database ${name}: ${String(error)}\n`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
