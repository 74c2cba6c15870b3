import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * The dashboard pages' bundle, then a fresh PostgreSQL database for this test run (the machine's server at 127.0.0.1:5432 unless
 * TEST_POSTGRES_URL says otherwise). Its URL reaches the test workers through the environment.
 */
export default async function globalSetup(): Promise<void> {
  // The dashboard pages' bundle (dist/web/), which the app serves and the browser tests load:
  // built here, in well under a second, so a test run never uses a stale or missing one.
  execFileSync(process.execPath, [join(__dirname, '..', 'scripts', 'build-web.mjs')], {
    stdio: 'inherit',
  });
  const admin = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `progress_test_${Date.now()}_${process.pid}`;
  const client = new Client({ connectionString: admin });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is needed for the tests and did not answer at ${admin} (${(error as Error).message}). ` +
        `Start it (pg_ctlcluster 15 main start) or set TEST_POSTGRES_URL.`,
      { cause: error },
    );
  }
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  process.env.TEST_DATABASE_URL = url.toString();
  process.env.TEST_DATABASE_NAME = name;
}
