import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

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

/** The schema a `freshSchemaUrl` points at, from its `-c search_path=...` option. */
export function schemaOf(url: string): string {
  const match = /search_path=(\w+)/.exec(new URL(url).searchParams.get('options') ?? '');
  if (!match) throw new Error(`${url} names no schema`);
  return match[1]!;
}

/** The rows of a `freshSchemaUrl`'s tables as `pg_dump` writes them: what a backup would hold. */
export async function dumpSchema(url: string): Promise<string> {
  const { hostname, port, username, pathname } = new URL(url);
  const { stdout } = await run(pgDumpBinary(), [
    '-h',
    hostname,
    '-p',
    port || '5432',
    '-U',
    decodeURIComponent(username) || 'postgres',
    '-n',
    schemaOf(url),
    '--data-only',
    pathname.slice(1),
  ]);
  return stdout;
}

/** `pg_dump` on the PATH, or the newest one PostgreSQL's Debian packages install. */
function pgDumpBinary(): string {
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .map((dir) => join(dir, 'pg_dump'))
    .find((path) => existsSync(path));
  if (onPath) return onPath;
  const root = '/usr/lib/postgresql';
  const packaged = existsSync(root)
    ? readdirSync(root)
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => join(root, version, 'bin', 'pg_dump'))
        .find((path) => existsSync(path))
    : undefined;
  if (!packaged) throw new Error('pg_dump is needed for this test: install postgresql-client');
  return packaged;
}

/**
 * The bytes of a table's heap file as on disk after a checkpoint: where a dead row version
 * survives an UPDATE or DELETE until VACUUM, though no query or dump shows it any more. Needs
 * a superuser (the tests run as postgres).
 */
export async function tableFileBytes(url: string, table: string): Promise<Buffer> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
    const { rows } = await client.query<{ bytes: Buffer }>(
      'SELECT pg_read_binary_file(pg_relation_filepath($1::regclass)) AS bytes',
      [table],
    );
    return rows[0]!.bytes;
  } finally {
    await client.end();
  }
}

/** What a schema's backup and a table's file hold: `pg_dump` text and the `heap` bytes. */
export async function storedCopies(url: string, table: string): Promise<Map<string, Buffer>> {
  return new Map([
    ['pg_dump', Buffer.from(await dumpSchema(url))],
    ['heap', await tableFileBytes(url, table)],
  ]);
}
