/**
 * Event-store benchmark. Every workload runs in this one process, one after the other, on the
 * same machine, so the ratios compare like with like. See bench/README.md.
 *
 *   npm run bench:store              # full size: 200,000 appends over 10,000 streams
 *   BENCH_SCALE=0.1 npm run bench:store
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client, Pool } from 'pg';
import { type EventStore, type RecordedEvent, timeOrderedUuid } from '../src/event-sourcing';
import { PostgresEventStore } from '../src/stores/postgres/postgres-event-store';
import { SqliteEventStore } from '../src/stores/sqlite/sqlite-event-store';
import { activityEvent, printBenchLines, rate, report, scaled, SCALE } from './bench-kit';
import { requirePeer } from './peers/ensure';

/**
 * The part of Emmett (`@event-driven-io/emmett-sqlite` 0.38.5) this benchmark calls. Emmett and
 * sqlite3 are installed into bench/peers on first use (bench/peers/ensure.ts), not with the
 * project, because sqlite3 compiles from source; so Emmett's own types may be absent when the
 * project is type-checked, and these few signatures stand in for them.
 */
type EmmettEvent = { type: string; data: Record<string, unknown> };
type EmmettExpectedVersion = { expectedStreamVersion: bigint | 'STREAM_DOES_NOT_EXIST' };
interface EmmettConnection {
  command(sql: string): Promise<unknown>;
  close(): void;
}
interface EmmettSqlite {
  getSQLiteEventStore(options: { fileName: string; schema: { autoMigration: 'CreateOrUpdate' } }): {
    appendToStream(
      streamName: string,
      events: EmmettEvent[],
      options: EmmettExpectedVersion,
    ): Promise<{ nextExpectedStreamVersion: bigint }>;
  };
  sqliteConnection(options: { fileName: string }): EmmettConnection;
  createEventStoreSchema(connection: EmmettConnection): Promise<void>;
  appendToStream(
    connection: EmmettConnection,
    streamName: string,
    streamType: string,
    events: EmmettEvent[],
    options: EmmettExpectedVersion,
  ): Promise<{ success: true; nextStreamPosition: bigint } | { success: false }>;
}
const {
  appendToStream: emmettAppendToStream,
  createEventStoreSchema: emmettCreateSchema,
  getSQLiteEventStore,
  sqliteConnection,
} = requirePeer('@event-driven-io/emmett-sqlite') as EmmettSqlite;

const APPENDS = scaled(200_000, 100);
const STREAMS = scaled(10_000, 10);
const CALLERS = 50;
// Emmett's public store manages about 170 appends/s here: 200,000 would take 20 minutes, so it
// (and its faster set-up) get fewer appends; the figures are rates, so they still compare.
const EMMETT_PUBLIC_APPENDS = scaled(1_000, 50);
const EMMETT_FAIR_APPENDS = scaled(20_000, 200);
// pg with synchronous commit manages ~1,300/s per connection; a tenth keeps the run short.
const PG_APPENDS = scaled(20_000, 200);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const PG_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const streamOf = (i: number) => `participant-${i % STREAMS}`;
const work = mkdtempSync(join(tmpdir(), 'store-bench-'));

/** Sequential appends through an EventStore, each with the expected revision the caller knows. */
async function appendSequential(store: EventStore, count: number): Promise<void> {
  const revisions = new Map<string, number>();
  for (let i = 0; i < count; i += 1) {
    const stream = streamOf(i);
    const expected = revisions.get(stream);
    const result = await store.append(stream, [activityEvent(i)], {
      expectedRevision: expected ?? 'no_stream',
    });
    revisions.set(stream, result.nextRevision);
  }
}

/** The same appends from `callers` concurrent callers, each owning a disjoint set of streams. */
async function appendConcurrent(store: EventStore, count: number, callers: number): Promise<void> {
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      const revisions = new Map<string, number>();
      for (let i = caller; i < count; i += callers) {
        const stream = `${streamOf(i)}-c${caller}`;
        const expected = revisions.get(stream);
        const result = await store.append(stream, [activityEvent(i)], {
          expectedRevision: expected ?? 'no_stream',
        });
        revisions.set(stream, result.nextRevision);
      }
    }),
  );
}

/** Read the whole log in pages and fold it into per-stream totals, as a projection would. */
async function readAndFold(store: EventStore): Promise<number> {
  const totals = new Map<string, number>();
  let after = 0;
  let count = 0;
  for (;;) {
    const page: RecordedEvent[] = await store.readAll(after, 2000);
    if (page.length === 0) break;
    for (const event of page)
      totals.set(event.streamName, (totals.get(event.streamName) ?? 0) + Number(event.data.hours));
    count += page.length;
    after = page[page.length - 1]!.position;
  }
  return count;
}

// The same schema as our adapter, and the same statements, without the adapter around them.
function rawSqlite(fileName: string) {
  const db = new Database(fileName);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE events (
    position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream_name TEXT NOT NULL,
    revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL, prev_hash TEXT, hash TEXT NOT NULL, UNIQUE (stream_name, revision))`);
  const head = db.prepare(
    'SELECT revision, hash FROM events WHERE stream_name = ? ORDER BY revision DESC LIMIT 1',
  );
  const insert = db.prepare(
    'INSERT INTO events (event_id, stream_name, revision, type, data, metadata, recorded_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const appendOne = (i: number, expected: number) => {
    const stream = streamOf(i);
    const current = head.get(stream) as { revision: number; hash: string } | undefined;
    if ((current?.revision ?? -1) !== expected) throw new Error('wrong expected revision');
    const event = activityEvent(i);
    const data = JSON.stringify(event.data);
    const hash = createHash('sha256')
      .update(data)
      .update(current?.hash ?? '')
      .digest('hex');
    insert.run(
      timeOrderedUuid(),
      stream,
      expected + 1,
      event.type,
      data,
      JSON.stringify(event.metadata),
      new Date().toISOString(),
      current?.hash ?? null,
      hash,
    );
  };
  return { db, appendOne };
}

async function rawSequential(fileName: string): Promise<number> {
  const raw = rawSqlite(fileName);
  const revisions = new Map<string, number>();
  const oneTx = raw.db.transaction((i: number) => {
    const expected = revisions.get(streamOf(i)) ?? -1;
    raw.appendOne(i, expected);
    revisions.set(streamOf(i), expected + 1);
  });
  const result = await rate(APPENDS, () => {
    for (let i = 0; i < APPENDS; i += 1) oneTx.immediate(i);
  });
  raw.db.close();
  return result;
}

async function oursSequential(fileName: string): Promise<number> {
  const store = new SqliteEventStore({ fileName });
  const result = await rate(APPENDS, () => appendSequential(store, APPENDS));
  await store.close();
  return result;
}

async function oursConcurrent(fileName: string): Promise<number> {
  const store = new SqliteEventStore({ fileName });
  const result = await rate(APPENDS, () => appendConcurrent(store, APPENDS, CALLERS));
  await store.close();
  return result;
}

async function oursReadAndFold(fileName: string): Promise<number> {
  const store = new SqliteEventStore({ fileName });
  let folded = 0;
  const result = await rate(APPENDS, async () => {
    folded = await readAndFold(store);
  });
  await store.close();
  if (folded !== APPENDS) throw new Error(`read ${folded} events, expected ${APPENDS}`);
  return result;
}

function rawReadAndFold(fileName: string): Promise<number> {
  const db = new Database(fileName, { readonly: true });
  const result = rate(APPENDS, () => {
    const totals = new Map<string, number>();
    const rows = db
      .prepare('SELECT stream_name, data, metadata FROM events ORDER BY position')
      .iterate() as IterableIterator<{
      stream_name: string;
      data: string;
      metadata: string;
    }>;
    for (const row of rows) {
      const data = JSON.parse(row.data) as { hours: number };
      JSON.parse(row.metadata);
      totals.set(row.stream_name, (totals.get(row.stream_name) ?? 0) + data.hours);
    }
  });
  return result.finally(() => db.close());
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[]) =>
  values.length > 1
    ? `median of ${values.length}: ${values.map((v) => Math.round(v).toLocaleString('en-US')).join(' / ')}`
    : '';

async function sqliteFigures(): Promise<void> {
  process.stdout.write(
    `\nSQLite (WAL, synchronous=NORMAL), ${APPENDS.toLocaleString('en-US')} appends over ${STREAMS.toLocaleString('en-US')} streams, ${ROUNDS} rounds\n`,
  );
  // The three append workloads take turns, each on a fresh file, so a noisy neighbour on this
  // shared machine hits all of them alike; the medians are reported.
  const raw: number[] = [];
  const ours: number[] = [];
  const concurrent: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    raw.push(await rawSequential(join(work, `raw-${round}.sqlite`)));
    ours.push(await oursSequential(join(work, `ours-${round}.sqlite`)));
    concurrent.push(await oursConcurrent(join(work, `ours-concurrent-${round}.sqlite`)));
  }
  const rawRate = median(raw);
  const oursRate = median(ours);
  const concurrentRate = median(concurrent);
  report({
    name: 'sqlite.raw.append.sequential',
    value: rawRate,
    unit: 'events/s',
    note: `1 transaction per append; ${spread(raw)}`,
  });
  report({
    name: 'sqlite.ours.append.sequential',
    value: oursRate,
    unit: 'events/s',
    note: `hash chain, revision check; ${spread(ours)}`,
  });
  report({
    name: 'sqlite.ours.append.concurrent50',
    value: concurrentRate,
    unit: 'events/s',
    note: `${CALLERS} callers, group commit; ${spread(concurrent)}`,
  });

  const rawBatched = rawSqlite(join(work, 'raw-batched.sqlite'));
  const batchRevisions = new Map<string, number>();
  const batchTx = rawBatched.db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i += 1) {
      const expected = batchRevisions.get(streamOf(i)) ?? -1;
      rawBatched.appendOne(i, expected);
      batchRevisions.set(streamOf(i), expected + 1);
    }
  });
  const rawBatchedRate = await rate(APPENDS, () => {
    for (let i = 0; i < APPENDS; i += 100) batchTx.immediate(i, Math.min(i + 100, APPENDS));
  });
  rawBatched.db.close();
  report({
    name: 'sqlite.raw.append.batch100',
    value: rawBatchedRate,
    unit: 'events/s',
    note: '100 appends per transaction, for reference',
  });

  // Both readers read the same closed (checkpointed) file, taking turns.
  const logFile = join(work, 'ours-0.sqlite');
  const oursReads: number[] = [];
  const rawReads: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    oursReads.push(await oursReadAndFold(logFile));
    rawReads.push(await rawReadAndFold(logFile));
  }
  const foldRate = median(oursReads);
  const rawFoldRate = median(rawReads);
  report({
    name: 'sqlite.ours.readall.fold',
    value: foldRate,
    unit: 'events/s',
    note: `readAll pages of 2,000 + fold; ${spread(oursReads)}`,
  });
  report({
    name: 'sqlite.raw.readall.fold',
    value: rawFoldRate,
    unit: 'events/s',
    note: `one SELECT of 3 columns + fold; ${spread(rawReads)}`,
  });

  // Emmett, the closest TypeScript peer: its public store (a connection per call) ...
  const emmettPublic = getSQLiteEventStore({
    fileName: join(work, 'emmett-public.sqlite'),
    schema: { autoMigration: 'CreateOrUpdate' },
  });
  const publicVersions = new Map<string, bigint>();
  let publicBusy = 0;
  const emmettPublicRate = await rate(EMMETT_PUBLIC_APPENDS, async () => {
    for (let i = 0; i < EMMETT_PUBLIC_APPENDS; i += 1) {
      const stream = streamOf(i);
      const event = activityEvent(i);
      for (;;) {
        try {
          const result = await emmettPublic.appendToStream(
            stream,
            [{ type: event.type, data: event.data }],
            {
              expectedStreamVersion: publicVersions.get(stream) ?? 'STREAM_DOES_NOT_EXIST',
            },
          );
          publicVersions.set(stream, result.nextExpectedStreamVersion);
          break;
        } catch (error) {
          // Its public store intermittently fails a commit with SQLITE_BUSY: retry, and count it.
          if (!String(error).includes('SQLITE_BUSY')) throw error;
          publicBusy += 1;
        }
      }
    }
  });
  report({
    name: 'sqlite.emmett.public.append.sequential',
    value: emmettPublicRate,
    unit: 'events/s',
    note: `getSQLiteEventStore, ${EMMETT_PUBLIC_APPENDS} appends, ${publicBusy} SQLITE_BUSY retried`,
  });

  // ... and its fairest set-up: the exported appendToStream on one connection, synchronous=NORMAL.
  const connection = sqliteConnection({ fileName: join(work, 'emmett-fair.sqlite') });
  await connection.command('PRAGMA journal_mode = WAL');
  await connection.command('PRAGMA synchronous = NORMAL');
  await emmettCreateSchema(connection);
  const fairVersions = new Map<string, bigint>();
  const emmettFairRate = await rate(EMMETT_FAIR_APPENDS, async () => {
    for (let i = 0; i < EMMETT_FAIR_APPENDS; i += 1) {
      const stream = streamOf(i);
      const event = activityEvent(i);
      const result = await emmettAppendToStream(
        connection,
        stream,
        'participant',
        [{ type: event.type, data: event.data }],
        {
          expectedStreamVersion: fairVersions.get(stream) ?? 'STREAM_DOES_NOT_EXIST',
        },
      );
      if (!result.success) throw new Error('emmett append failed');
      fairVersions.set(stream, result.nextStreamPosition);
    }
  });
  connection.close();
  report({
    name: 'sqlite.emmett.fair.append.sequential',
    value: emmettFairRate,
    unit: 'events/s',
    note: `appendToStream on one connection, ${EMMETT_FAIR_APPENDS} appends`,
  });

  process.stdout.write('Ratios\n');
  report({
    name: 'ratio.sqlite.ours_vs_raw.sequential',
    value: oursRate / rawRate,
    unit: 'x',
    note: 'target >= 0.60',
  });
  report({
    name: 'ratio.sqlite.ours_vs_emmett_fair',
    value: oursRate / emmettFairRate,
    unit: 'x',
    note: 'target >= 4',
  });
  report({
    name: 'ratio.sqlite.ours_vs_emmett_public',
    value: oursRate / emmettPublicRate,
    unit: 'x',
  });
  report({
    name: 'ratio.sqlite.ours_concurrent50_vs_raw',
    value: concurrentRate / rawRate,
    unit: 'x',
    note: 'target >= 2',
  });
  report({
    name: 'ratio.sqlite.ours_vs_raw.readall_fold',
    value: foldRate / rawFoldRate,
    unit: 'x',
  });
}

async function postgresFigures(): Promise<void> {
  const admin = new Client({ connectionString: PG_URL });
  await admin.connect();
  const database = `bench_store_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  const setting = (await admin.query<{ synchronous_commit: string }>('SHOW synchronous_commit'))
    .rows[0]!.synchronous_commit;
  process.stdout.write(
    `\nPostgreSQL (synchronous_commit=${setting}), ${PG_APPENDS.toLocaleString('en-US')} appends\n`,
  );
  try {
    const pool = new Pool({ connectionString: url.toString(), max: 8 });
    await pool.query(`CREATE TABLE raw_events (
      position BIGSERIAL PRIMARY KEY, event_id UUID NOT NULL UNIQUE, stream_name TEXT NOT NULL, revision BIGINT NOT NULL,
      type TEXT NOT NULL, data JSON NOT NULL, metadata JSON NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, prev_hash TEXT,
      hash TEXT NOT NULL, UNIQUE (stream_name, revision))`);
    const rawAppend = async (
      client: { query: Pool['query'] },
      stream: string,
      i: number,
      expected: number,
    ) => {
      await client.query('BEGIN');
      const { rows } = await client.query<{ revision: string; hash: string }>(
        'SELECT revision, hash FROM raw_events WHERE stream_name = $1 ORDER BY revision DESC LIMIT 1',
        [stream],
      );
      if (Number(rows[0]?.revision ?? -1) !== expected) throw new Error('wrong expected revision');
      const event = activityEvent(i);
      const data = JSON.stringify(event.data);
      await client.query(
        'INSERT INTO raw_events (event_id, stream_name, revision, type, data, metadata, recorded_at, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)',
        [
          timeOrderedUuid(),
          stream,
          expected + 1,
          event.type,
          data,
          JSON.stringify(event.metadata),
          new Date(),
          rows[0]?.hash ?? null,
          createHash('sha256').update(data).digest('hex'),
        ],
      );
      await client.query('COMMIT');
    };
    const one = await pool.connect();
    const rawRevisions = new Map<string, number>();
    const rawRate = await rate(PG_APPENDS, async () => {
      for (let i = 0; i < PG_APPENDS; i += 1) {
        const stream = streamOf(i);
        const expected = rawRevisions.get(stream) ?? -1;
        await rawAppend(one, stream, i, expected);
        rawRevisions.set(stream, expected + 1);
      }
    });
    one.release();
    report({
      name: 'postgres.raw.append.sequential',
      value: rawRate,
      unit: 'events/s',
      note: 'pg, 1 connection, 1 transaction per append',
    });

    const rawConcurrentRate = await rate(PG_APPENDS, async () => {
      await Promise.all(
        Array.from({ length: 8 }, async (_, caller) => {
          const client = await pool.connect();
          const revisions = new Map<string, number>();
          for (let i = caller; i < PG_APPENDS; i += 8) {
            const stream = `${streamOf(i)}-c${caller}`;
            const expected = revisions.get(stream) ?? -1;
            await rawAppend(client, stream, i, expected);
            revisions.set(stream, expected + 1);
          }
          client.release();
        }),
      );
    });
    report({
      name: 'postgres.raw.append.concurrent8',
      value: rawConcurrentRate,
      unit: 'events/s',
      note: 'pg, 8 connections, 1 transaction per append',
    });
    await pool.end();

    const ours = new PostgresEventStore({ connectionString: url.toString() });
    const oursRate = await rate(PG_APPENDS, () => appendSequential(ours, PG_APPENDS));
    report({ name: 'postgres.ours.append.sequential', value: oursRate, unit: 'events/s' });
    const oursConcurrentRate = await rate(PG_APPENDS, () =>
      appendConcurrent(ours, PG_APPENDS, CALLERS),
    );
    report({
      name: 'postgres.ours.append.concurrent50',
      value: oursConcurrentRate,
      unit: 'events/s',
      note: `${CALLERS} callers, group commit`,
    });
    let folded = 0;
    const foldRate = await rate(2 * PG_APPENDS, async () => {
      folded = await readAndFold(ours);
    });
    if (folded !== 2 * PG_APPENDS)
      throw new Error(`read ${folded} events, expected ${2 * PG_APPENDS}`);
    report({ name: 'postgres.ours.readall.fold', value: foldRate, unit: 'events/s' });
    await ours.close();

    process.stdout.write('Ratios\n');
    report({ name: 'ratio.postgres.ours_vs_raw.sequential', value: oursRate / rawRate, unit: 'x' });
    report({
      name: 'ratio.postgres.ours_concurrent50_vs_raw_concurrent8',
      value: oursConcurrentRate / rawConcurrentRate,
      unit: 'x',
    });
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`Store benchmark, BENCH_SCALE=${SCALE}, Node ${process.version}\n`);
  try {
    await sqliteFigures();
    await postgresFigures();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  printBenchLines();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
