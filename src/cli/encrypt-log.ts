import {
  chmodSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { Client } from 'pg';
import {
  PUBLIC_KEY_FILE,
  SIGNING_KEY_FILE,
  createDigest,
  loadOrCreateDigestKeys,
} from '../audit/digest';
import { JWT_SECRET_FILE } from '../auth/tokens';
import { type AppConfig, loadConfig } from '../config/app-config';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { PersonalDataVault } from '../event-sourcing';
import { PERSONAL_DATA_POLICY } from '../personal-data';
import { EVENT_SCHEMAS } from '../event-schemas';
import {
  STUDENT_ROLES,
  createEventStore,
  createEventStoreAdapter,
  sqliteEventStoreFile,
} from '../stores/event-store.module';
import {
  createSubjectKeyStore,
  openExistingSubjectKeyStore,
} from '../stores/subject-key-store.module';
import {
  type EventMapping,
  type LogEncryptionSummary,
  copySubjectKeys,
  encryptLog,
} from './log-encryption';
import { progressBar } from './progress';

/** The mapping report's file name (in the new DATA_DIR, or the current folder for PostgreSQL). */
export const REPORT_FILE = 'encrypt-log-report.json';
/** The format the report names, for whoever reads it later. */
export const REPORT_FORMAT = 'participant-progress/encrypt-log-report/1';

type Options = { toDataDir?: string; toDatabaseUrl?: string };

/** Where the new log goes, and where the command writes beside it. */
type Target = {
  /** The settings a service runs with on the new log (and what this command writes through). */
  readonly config: AppConfig;
  /** For the report and the messages: a folder, or the URL without its password. */
  readonly description: { readonly eventStore: 'sqlite' | 'postgres'; readonly location: string };
  readonly reportFile: string;
  /** Where the digest keys are (made if missing), as the `digest` command keeps them. */
  readonly digestKeysDir: string;
  digestFile(position: number): string;
  /** The settings to start the service with, one per line. */
  readonly settings: readonly string[];
};

export function encryptLogCommand(program: Command): void {
  program
    .command('encrypt-log')
    .description(
      'copy a log written before personal data was encrypted into a new, empty store with every personal field sealed, a new hash chain, a mapping report and a signed digest; the old log is not changed (docs/privacy-migration.md)',
    )
    .addOption(
      new Option(
        '--to-data-dir <dir>',
        'a new, empty DATA_DIR: the new log in its SQLite store, its keys in keys.sqlite',
      ).conflicts('toDatabaseUrl'),
    )
    .addOption(
      new Option(
        '--to-database-url <url>',
        'an empty PostgreSQL database or schema (by its search_path): the new log and its keys',
      ),
    )
    .action(async (options: Options, command: Command) => {
      if (options.toDataDir === undefined && options.toDatabaseUrl === undefined)
        command.error(
          'error: encrypt-log needs a target: --to-data-dir DIR (SQLite) or --to-database-url URL (PostgreSQL)',
        );
      const settings = loadConfigOrExit();
      const target =
        options.toDataDir !== undefined
          ? sqliteTarget(settings, options.toDataDir)
          : await postgresTarget(settings, options.toDatabaseUrl!);
      await migrate(settings, target);
    });
}

async function migrate(settings: AppConfig, target: Target): Promise<void> {
  // Opening a SQL store creates its tables: a mistyped setting must not make an empty log.
  const missing =
    settings.EVENT_STORE === 'sqlite'
      ? !existsSync(sqliteEventStoreFile(settings)) && sqliteEventStoreFile(settings)
      : settings.EVENT_STORE === 'postgres' &&
        !(await postgresHasLog(settings.DATABASE_URL!)) &&
        withoutPassword(settings.DATABASE_URL!);
  if (missing)
    refuse(
      `There is no log at ${missing}: run encrypt-log with the settings of the old log (DATA_DIR, EVENT_STORE, DATABASE_URL) as the service had them.`,
    );
  // The old log as stored: the transform reads its own shapes (no upcasting).
  const source = createEventStoreAdapter(settings);
  const sourceKeys = await openExistingSubjectKeyStore(settings);
  try {
    const head = await source.headPosition();
    if (head === 0) {
      process.stdout.write(
        `The log (${describeSource(settings).location}) is empty: nothing to migrate; nothing was written.\n`,
      );
      return;
    }
    // The new log is written in today's shapes, each type stamped with its current version.
    const events = createEventStore(target.config, EVENT_SCHEMAS);
    const keys = createSubjectKeyStore(target.config);
    const partial = `${target.reportFile}.partial`;
    let report: ReportWriter | undefined;
    try {
      const keysCopied = sourceKeys ? await copySubjectKeys(sourceKeys, keys) : 0;
      const vault = await PersonalDataVault.open(keys);
      report = new ReportWriter(partial, {
        format: REPORT_FORMAT,
        createdAt: new Date().toISOString(),
        source: { eventStore: settings.EVENT_STORE, location: describeSource(settings).location },
        target: target.description,
      });
      const bar = progressBar('encrypt-log');
      const writer = report;
      const summary = await encryptLog({
        source,
        target: events,
        vault,
        policy: PERSONAL_DATA_POLICY,
        studentRoles: STUDENT_ROLES,
        onMapped: (mapping) => writer.event(mapping),
        onProgress: (position, end) => bar.update(position, end),
      });
      bar.stop();

      carryOverSecrets(settings, target);
      const digestKeys = loadOrCreateDigestKeys(target.digestKeysDir);
      const digestBar = progressBar('digest');
      const digest = await createDigest(events.stored, digestKeys, {
        upTo: summary.newHead,
        onProgress: (position) => digestBar.update(position, summary.newHead),
      });
      digestBar.stop();
      const digestFile = target.digestFile(digest.statement.position);
      mkdirSync(join(digestFile, '..'), { recursive: true });
      writeFileSync(digestFile, `${JSON.stringify(digest, null, 2)}\n`, { flag: 'wx' });
      await report.finish({
        summary: { ...summary, keysCopied },
        digest: { file: digestFile, ...digest.statement },
      });
      report = undefined;
      renameSync(partial, target.reportFile);
      printDone(settings, target, summary, keysCopied, digestFile, digest.statement.rootHash);
    } catch (error) {
      await report?.abort();
      throw new Error(
        `${(error as Error).message}\nencrypt-log stopped. The old log was not changed. The new ${target.description.location} is incomplete: ${target.description.eventStore === 'sqlite' ? 'delete that folder' : 'drop its tables (or the database) and create it again'} before running encrypt-log again.`,
        { cause: error },
      );
    } finally {
      await keys.close();
      await events.close();
    }
  } finally {
    await sourceKeys?.close();
    await source.close();
  }
}

/** A new, empty DATA_DIR outside the current one (deleting the old folder must not take it along). */
function sqliteTarget(settings: AppConfig, dir: string): Target {
  const dataDir = resolve(dir);
  const inside = relative(settings.dataDir, dataDir);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside)))
    refuse(
      `--to-data-dir ${dataDir} is ${inside === '' ? '' : 'inside '}DATA_DIR (${settings.dataDir}), which holds the old log and is deleted once the new one is verified: pick a folder outside it.`,
    );
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) refuse(`--to-data-dir ${dataDir} is not a folder.`);
    const entries = readdirSync(dataDir);
    if (entries.length > 0)
      refuse(
        `--to-data-dir ${dataDir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''}): encrypt-log writes the new log into a new, empty folder. Pick another folder, or delete this one if it is left from an earlier attempt.`,
      );
  }
  const config = loadConfig({
    ...process.env,
    DATA_DIR: dataDir,
    EVENT_STORE: 'sqlite',
    KEY_STORE: 'sqlite',
  });
  return {
    config,
    description: { eventStore: 'sqlite', location: dataDir },
    reportFile: join(dataDir, REPORT_FILE),
    digestKeysDir: dataDir,
    digestFile: (position) => join(dataDir, 'digests', `digest-${position}.json`),
    settings: [
      `DATA_DIR=${dataDir}`,
      'EVENT_STORE=sqlite',
      'KEY_STORE=sqlite',
      'READ_MODEL_STORE=sqlite',
    ],
  };
}

/** An empty PostgreSQL database or schema; the report and digest go to the current folder. */
async function postgresTarget(settings: AppConfig, url: string): Promise<Target> {
  if (!/^postgres(ql)?:\/\/\S+$/.test(url))
    refuse(
      `--to-database-url must be a postgres:// URL (e.g. postgres://postgres@127.0.0.1:5432/progress_encrypted).`,
    );
  const shown = withoutPassword(url);
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    refuse(
      `Cannot connect to --to-database-url ${shown} (${(error as Error).message}): create the database first (createdb), then run encrypt-log again.`,
    );
  }
  try {
    const { rows } = await client.query<{ schema: string | null }>(
      'SELECT current_schema() AS schema',
    );
    const schema = rows[0]!.schema;
    if (schema === null)
      refuse(
        `--to-database-url ${shown}: its search_path names no schema that exists: create it (CREATE SCHEMA ...) first.`,
      );
    const tables = await client.query<{ name: string }>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [schema],
    );
    if (tables.rows.length > 0)
      refuse(
        `--to-database-url ${shown} is not empty (schema ${schema} has ${tables.rows.length} tables: ${tables.rows
          .slice(0, 5)
          .map((row) => row.name)
          .join(
            ', ',
          )}${tables.rows.length > 5 ? ', …' : ''}): encrypt-log writes the new log into an empty database. Create a new one (createdb), or drop these tables if they are left from an earlier attempt.`,
      );
  } finally {
    await client.end();
  }
  const reportFile = resolve(REPORT_FILE);
  const digestFile = resolve('encrypt-log-digest.json');
  for (const file of [reportFile, digestFile])
    if (existsSync(file))
      refuse(
        `${file} exists, from an earlier migration: move it away (encrypt-log writes its report and the new log's digest into the current folder for PostgreSQL).`,
      );
  const config = loadConfig({
    ...process.env,
    EVENT_STORE: 'postgres',
    KEY_STORE: 'postgres',
    DATABASE_URL: url,
  });
  return {
    config,
    description: { eventStore: 'postgres', location: shown },
    reportFile,
    digestKeysDir: settings.dataDir,
    digestFile: () => digestFile,
    settings: ['EVENT_STORE=postgres', 'KEY_STORE=postgres', `DATABASE_URL=${shown}`],
  };
}

/** Whether the database (its search_path) holds an event log. */
async function postgresHasLog(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ found: boolean }>(
      "SELECT to_regclass('es_events') IS NOT NULL AS found",
    );
    return rows[0]!.found;
  } finally {
    await client.end();
  }
}

/**
 * Into a new DATA_DIR: the token secret (tokens issued before keep working) and the digest
 * signing key (auditors keep the public key they have), when the old DATA_DIR has them.
 */
function carryOverSecrets(settings: AppConfig, target: Target): void {
  if (target.digestKeysDir === settings.dataDir) return;
  for (const file of [JWT_SECRET_FILE, SIGNING_KEY_FILE]) {
    const from = join(settings.dataDir, file);
    const into = join(target.digestKeysDir, file);
    if (existsSync(from) && !existsSync(into)) {
      copyFileSync(from, into);
      chmodSync(into, 0o600);
    }
  }
}

function printDone(
  settings: AppConfig,
  target: Target,
  summary: LogEncryptionSummary,
  keysCopied: number,
  digestFile: string,
  rootHash: string,
): void {
  const old = describeSource(settings);
  const sqlite = target.description.eventStore === 'sqlite';
  const env = target.settings.join(' ');
  const lines = [
    `Copied ${count(summary.events, 'event')} in ${count(summary.streams, 'stream')} from ${old.location} to ${target.description.location}, in order: event ids, streams, revisions, types, recordedAt and metadata kept; hashes and positions are new.`,
    `Sealed ${count(summary.sealedFields, 'personal value')} of ${count(summary.subjects, 'data subject')} (${summary.alreadySealedFields} sealed already); added subjectRef to ${count(summary.subjectRefsAdded, 'event')}; wrote ${count(summary.actorsPseudonymised, 'student actor')} as pseudonyms; copied ${count(summary.copiedAsIs, 'event')} already in today's shape as ${summary.copiedAsIs === 1 ? 'it was' : 'they were'}${keysCopied > 0 ? `; copied ${count(keysCopied, 'key or tombstone', 'keys and tombstones')} from the old key store` : ''}.`,
    `Mapping report (old → new position and hash of every event): ${target.reportFile}`,
    `Signed digest of the new log: ${digestFile} (${count(summary.events, 'event')}, root ${rootHash}); public key ${join(target.digestKeysDir, PUBLIC_KEY_FILE)}.`,
    '',
    'The old log was not changed. Next:',
    `  1. Stop the service if it still runs on the old log, and start it on the new one: ${env}${sqlite ? ' (it builds its read models from the new log)' : ' (READ_MODEL_STORE=postgres with this DATABASE_URL builds fresh read models; with READ_MODEL_STORE=sqlite, first delete DATA_DIR/read-models.sqlite* and requests.sqlite*, which were built from the old log)'}.`,
    `  2. Verify the new log: ${env} participant-progress verify --digest ${digestFile}`,
    `  3. Once it verifies, delete the old log and everything made from it: ${old.deletion}. Its digests stay valid for the old log only.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The old log, for the report and the messages (never with a password). */
function describeSource(settings: AppConfig): { location: string; deletion: string } {
  switch (settings.EVENT_STORE) {
    case 'sqlite':
      return {
        location: settings.dataDir,
        deletion: `the folder ${settings.dataDir} (events, keys, read models, idempotency records) and its backups`,
      };
    case 'postgres':
      return {
        location: withoutPassword(settings.DATABASE_URL!),
        deletion: `the database or schema ${withoutPassword(settings.DATABASE_URL!)} (drop it) and its backups and WAL archives`,
      };
    case 'eventstoredb':
      return {
        location: withoutPassword(settings.EVENTSTORE_CONNECTION_STRING!),
        deletion: `the EventStoreDB database ${withoutPassword(settings.EVENTSTORE_CONNECTION_STRING!)} (its data folder) and its backups`,
      };
  }
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** A refusal to start: the operator's to fix, printed as one message (exit 1). */
function refuse(message: string): never {
  throw new Error(message);
}

/**
 * The report, written as it goes: a JSON document whose `events` list has one mapping per line,
 * so a log of any size is reported in constant memory and the file can still be read with one
 * JSON.parse (or line by line). Written to `.partial` and renamed once complete.
 */
class ReportWriter {
  private readonly out: WriteStream;
  private first = true;
  private failed: Error | undefined;

  constructor(file: string, header: Record<string, unknown>) {
    this.out = createWriteStream(file, { mode: 0o600 });
    this.out.on('error', (error) => {
      this.failed = error;
    });
    const head = JSON.stringify(header);
    this.out.write(`${head.slice(0, -1)},"events":[`);
  }

  async event(mapping: EventMapping): Promise<void> {
    if (this.failed) throw this.failed;
    const line = `${this.first ? '' : ','}\n${JSON.stringify(mapping)}`;
    this.first = false;
    if (!this.out.write(line))
      await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }

  async finish(tail: Record<string, unknown>): Promise<void> {
    const rest = JSON.stringify(tail);
    await new Promise<void>((resolve, reject) => {
      this.out.end(`\n],${rest.slice(1)}\n`, () => (this.failed ? reject(this.failed) : resolve()));
    });
  }

  async abort(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(resolve));
  }
}
