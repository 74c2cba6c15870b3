import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The run's fresh database (made by global-setup). */
export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      'TEST_DATABASE_URL is not set: run the tests through jest (global-setup makes the database).',
    );
  return url;
}

/**
 * A new empty schema in the run's database and a connection string whose search_path points at
 * it, so every test gets its own tables without the cost of a database per test.
 */
export async function freshSchemaUrl(): Promise<string> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const url = new URL(testDatabaseUrl());
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}
