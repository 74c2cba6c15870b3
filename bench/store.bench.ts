/**
 * Event-store benchmark. Every workload runs in this one process, one after the other, on the
 * same machine, so the ratios compare like with like; the appends also through the sealing
 * store (personal fields encrypted), next to the plain ones. See bench/README.md.
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
import {
  type EventStore,
  type NewEvent,
  open,
  PersonalDataVault,
  type RecordedEvent,
  seal,
  sealedParts,
  SealingEventStore,
  type SubjectKeyStore,
  timeOrderedUuid,
} from '../src/event-sourcing';
import { describeItem, timelineProjection } from '../src/participants/queries/timeline.projection';
import { PERSONAL_DATA_POLICY } from '../src/personal-data';
import { STUDENT_ROLES } from '../src/stores/event-store.module';
import { PostgresSubjectKeyStore } from '../src/stores/keys/postgres-subject-key-store';
import { SqliteSubjectKeyStore } from '../src/stores/keys/sqlite-subject-key-store';
import { PostgresEventStore } from '../src/stores/postgres/postgres-event-store';
import { SqliteEventStore } from '../src/stores/sqlite/sqlite-event-store';
import {
  activityEvent,
  printBenchLines,
  rate,
  report,
  scaled,
  SCALE,
  subjectOf,
} from './bench-kit';
import { appendWorkloads } from './append-workloads';
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

const { streamOf, eventOf, appendSequential, appendConcurrent, rawSqlite, rawSequential } =
  appendWorkloads(STREAMS);
const SUBJECT_REFS = Array.from({ length: STREAMS }, (_, n) => subjectOf(n).subjectRef);
const work = mkdtempSync(join(tmpdir(), 'store-bench-'));

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

// Encryption (crypto-shredding): the same appends through the sealing store the service writes
// through, which seals each event's personal fields (title, evidence) under its subject's key
// and writes the student actor as a pseudonym before the adapter hashes and appends it.

/**
 * A key file of its own (as DATA_DIR/keys.sqlite is in production) holding a key for every
 * subject, made beforehand and untimed: in the service a subject's key exists from their
 * application on, long before they log an activity.
 */
async function sqliteKeys(fileName: string): Promise<SqliteSubjectKeyStore> {
  const keys = new SqliteSubjectKeyStore(fileName);
  await keys.keys(SUBJECT_REFS, true);
  return keys;
}

/** Counts the reads that reach the key store: the appends that missed the vault's key cache. */
function counting(keys: SubjectKeyStore): SubjectKeyStore & { reads: number } {
  const counted = {
    reads: 0,
    pseudonymSecret: () => keys.pseudonymSecret(),
    keys: (refs: readonly string[], create: boolean) => {
      counted.reads += 1;
      return keys.keys(refs, create);
    },
    erase: (ref: string, at: string) => keys.erase(ref, at),
    purgeDeleted: () => keys.purgeDeleted(),
    ping: () => keys.ping(),
    close: () => keys.close(),
  };
  return counted;
}

/** The adapter behind the sealing store, as the service opens it (keys cached 30 s). */
async function sealing(
  inner: EventStore,
  keys: SubjectKeyStore,
  keyCacheMs = 30_000,
): Promise<SealingEventStore> {
  const vault = await PersonalDataVault.open(keys, { keyCacheMs });
  return new SealingEventStore(inner, vault, PERSONAL_DATA_POLICY, STUDENT_ROLES);
}

/**
 * Sequential appends through the sealing store. With the service's 30 s key cache, each subject's
 * key is read about once per run here (each subject appends once every STREAMS appends, a second
 * or two); `keyCacheMs` 0 reads it for every append, as when consecutive appends are different
 * people's, minutes apart (a cohort logging its activities now and then).
 */
async function sealedSequential(
  fileName: string,
  keys: SubjectKeyStore,
  keyCacheMs = 30_000,
): Promise<number> {
  const store = await sealing(new SqliteEventStore({ fileName }), keys, keyCacheMs);
  const result = await rate(APPENDS, () => appendSequential(store, APPENDS));
  await store.close();
  return result;
}

async function sealedConcurrent(fileName: string, keys: SubjectKeyStore): Promise<number> {
  const store = await sealing(new SqliteEventStore({ fileName }), keys);
  const result = await rate(APPENDS, () => appendConcurrent(store, APPENDS, CALLERS));
  await store.close();
  return result;
}

/**
 * The workload's events as the sealing store hands them to the adapter (personal fields sealed,
 * student actors pseudonymous), sealed beforehand: appending them through the plain adapter
 * costs what the bigger JSON costs, and nothing of the key lookups or AES.
 */
async function sealBeforehand(keys: SubjectKeyStore): Promise<NewEvent[]> {
  const vault = await PersonalDataVault.open(keys);
  const events = Array.from({ length: APPENDS }, (_, i) => eventOf(i));
  return (await vault.sealEvents(events, PERSONAL_DATA_POLICY)).map((event) => {
    const { actor } = event.metadata;
    if (!STUDENT_ROLES.has(actor.role)) return event;
    const sub = vault.pseudonym(actor.sub);
    return { ...event, metadata: { ...event.metadata, actor: { ...actor, sub } } };
  });
}

async function presealedSequential(fileName: string, events: readonly NewEvent[]): Promise<number> {
  const store = new SqliteEventStore({ fileName });
  const result = await rate(APPENDS, () => appendSequential(store, APPENDS, (i) => events[i]!));
  await store.close();
  return result;
}

/** The vault's own work per event with every key in its cache: policy walk, AES-GCM, pseudonym. */
async function sealCachedKeys(keys: SubjectKeyStore): Promise<number> {
  const vault = await PersonalDataVault.open(keys, { keyCacheMs: 3_600_000 });
  const events = Array.from({ length: APPENDS }, (_, i) => eventOf(i));
  await vault.sealEvents(events.slice(0, STREAMS), PERSONAL_DATA_POLICY);
  return rate(APPENDS, async () => {
    for (const event of events) {
      await vault.sealEvents([event], PERSONAL_DATA_POLICY);
      vault.pseudonym(event.metadata.actor.sub);
    }
  });
}

/** AES-256-GCM alone: sealing one title (fresh IV, cipher, tag), and opening it again. */
function aesPerValue(): { seal: number; open: number } {
  const key = Buffer.alloc(32, 7);
  const subjectRef = SUBJECT_REFS[0]!;
  const title = 'Rare-earth separation chemistry seminar';
  const count = scaled(200_000, 20_000);
  const sealedTitle = seal(title, subjectRef, 'title', key);
  const parts = sealedParts(sealedTitle);
  const opened = { ...parts, cipher: parts.cipher! };
  for (let i = 0; i < 5_000; i += 1) open(opened, key); // warm-up
  const timed = (work: () => unknown) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i += 1) work();
    return count / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  return {
    seal: timed(() => seal(title, subjectRef, 'title', key)),
    open: timed(() => open(sealedParts(sealedTitle) as typeof opened, key)),
  };
}

/** One subject's key read from the key store per call, as each miss of the vault's cache does. */
async function keyReads(keys: SubjectKeyStore, count: number): Promise<number> {
  return rate(count, async () => {
    for (let i = 0; i < count; i += 1) await keys.keys([SUBJECT_REFS[i % STREAMS]!], false);
  });
}

/**
 * The average event as stored (data and metadata JSON), in bytes: the plain workload and the
 * same events sealed.
 */
function storedBytes(events: readonly NewEvent[]): number {
  let bytes = 0;
  for (const event of events)
    bytes +=
      Buffer.byteLength(JSON.stringify(event.data)) +
      Buffer.byteLength(JSON.stringify(event.metadata));
  return bytes / events.length;
}

/**
 * Opening an answer: a page of 100 items of one participant's timeline, as the read model holds
 * them (built by the timeline projection; activities logged and verified in turn, so 50 sealed
 * titles and 13 sealed evidence texts), opened and described as the timeline route does, next to
 * the same page from a plaintext log, which is only serialised. Variants take turns in blocks;
 * the medians of the blocks' means are reported.
 */
async function unsealFigures(keys: SubjectKeyStore): Promise<void> {
  const subject = 7 % STREAMS;
  const { participantId } = subjectOf(subject);
  const staff = {
    actor: { sub: 'mentor-1', role: 'society_staff' },
    correlationId: 'c',
    causationId: null,
    schemaVersion: 1,
  };
  const events: NewEvent[] = Array.from({ length: 100 }, (_, n) =>
    n % 2 === 0
      ? activityEvent(n / 2, subject)
      : {
          type: 'ActivityVerified',
          data: { participantId, activityId: `act-${(n - 1) / 2}` },
          metadata: staff,
        },
  );
  const vault = await PersonalDataVault.open(keys, { keyCacheMs: 30_000 });
  const uncached = await PersonalDataVault.open(keys, { keyCacheMs: 0 });
  const pageOf = (written: readonly NewEvent[]) => ({
    items: written.map((event, n) => {
      const recorded: RecordedEvent = {
        ...event,
        eventId: timeOrderedUuid(),
        streamName: `participant-${participantId}`,
        revision: n,
        position: 1_000_000 + n,
        recordedAt: new Date(Date.UTC(2026, 2, 14, 8, n)).toISOString(),
        prevHash: null,
        hash: '0'.repeat(64),
      };
      const key = timelineProjection.keysOf(recorded)[0]!;
      return timelineProjection.evolve(null, recorded, key)!;
    }),
    nextCursor: 'eyJvIjoxMDAwMTAwfQ',
  });
  const plainPage = pageOf(events);
  const sealedPage = pageOf(await vault.sealEvents(events, PERSONAL_DATA_POLICY));
  const opened = await vault.unseal(sealedPage);
  if (opened.items[0]!.data.title !== plainPage.items[0]!.data.title)
    throw new Error('the sealed page does not open to the plain one');

  const variants: Record<string, () => Promise<unknown>> = {
    plain: () => Promise.resolve(JSON.stringify(plainPage)),
    sealed: async () => {
      const page = await vault.unseal(sealedPage);
      return JSON.stringify({ ...page, items: page.items.map(describeItem) });
    },
    unseal: () => vault.unseal(sealedPage),
    unsealKeyRead: () => uncached.unseal(sealedPage),
  };
  const perPage = scaled(2_000, 200);
  const blocks: Record<string, number[]> = {};
  for (let block = 0; block < Math.max(3, ROUNDS); block += 1) {
    for (const [name, work] of Object.entries(variants)) {
      for (let i = 0; i < 50; i += 1) await work(); // warm-up
      const started = process.hrtime.bigint();
      for (let i = 0; i < perPage; i += 1) await work();
      const micros = Number(process.hrtime.bigint() - started) / 1e3 / perPage;
      (blocks[name] ??= []).push(micros);
    }
  }
  const plain = median(blocks.plain!);
  const sealed = median(blocks.sealed!);
  report({
    name: 'answer.page100.plain',
    value: plain,
    unit: 'us',
    note: `JSON of a 100-item timeline page from a plaintext log, ${Buffer.byteLength(JSON.stringify(plainPage)).toLocaleString('en-US')} bytes; ${spread(blocks.plain!)}`,
  });
  report({
    name: 'answer.page100.sealed',
    value: sealed,
    unit: 'us',
    note: `unseal (keys cached) + describeItem + JSON, the page sealed: ${Buffer.byteLength(JSON.stringify(sealedPage)).toLocaleString('en-US')} bytes; ${spread(blocks.sealed!)}`,
  });
  report({
    name: 'unseal.page100',
    value: median(blocks.unseal!),
    unit: 'us',
    note: `vault.unseal alone, key cached; ${spread(blocks.unseal!)}`,
  });
  report({
    name: 'unseal.page100.key_read',
    value: median(blocks.unsealKeyRead!),
    unit: 'us',
    note: `vault.unseal reading the key from the key store each time; ${spread(blocks.unsealKeyRead!)}`,
  });
  report({
    name: 'ratio.unseal_cost.page100',
    value: sealed / plain,
    unit: 'x',
    note: 'sealed answer / plain answer',
  });
}

async function sqliteFigures(): Promise<void> {
  process.stdout.write(
    `\nSQLite (WAL, synchronous=NORMAL), ${APPENDS.toLocaleString('en-US')} appends over ${STREAMS.toLocaleString('en-US')} streams, ${ROUNDS} rounds\n`,
  );
  // The append workloads take turns, each on a fresh file, so a noisy neighbour on this shared
  // machine hits all of them alike; the medians are reported. The sealed ones are among them:
  // through the sealing store (a fresh key file per round with every subject's key made
  // beforehand, a fresh vault whose cache starts cold), and the same events sealed beforehand
  // through the plain adapter (the bigger JSON alone).
  const presealedKeys = await sqliteKeys(join(work, 'keys-presealed.sqlite'));
  const presealedEvents = await sealBeforehand(presealedKeys);
  const raw: number[] = [];
  const ours: number[] = [];
  const concurrent: number[] = [];
  const sealed: number[] = [];
  const sealedUncached: number[] = [];
  const sealedConcurrentRates: number[] = [];
  const presealed: number[] = [];
  const keyStoreReads: number[] = [];
  const concurrentKeyStoreReads: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const keys = counting(await sqliteKeys(join(work, `keys-${round}.sqlite`)));
    raw.push(await rawSequential(join(work, `raw-${round}.sqlite`), APPENDS));
    ours.push(await oursSequential(join(work, `ours-${round}.sqlite`)));
    sealed.push(await sealedSequential(join(work, `sealed-${round}.sqlite`), keys));
    keyStoreReads.push(keys.reads);
    sealedUncached.push(
      await sealedSequential(join(work, `sealed-uncached-${round}.sqlite`), keys, 0),
    );
    presealed.push(
      await presealedSequential(join(work, `presealed-${round}.sqlite`), presealedEvents),
    );
    concurrent.push(await oursConcurrent(join(work, `ours-concurrent-${round}.sqlite`)));
    const readsBeforeConcurrent = keys.reads;
    sealedConcurrentRates.push(
      await sealedConcurrent(join(work, `sealed-concurrent-${round}.sqlite`), keys),
    );
    concurrentKeyStoreReads.push(keys.reads - readsBeforeConcurrent);
    await keys.close();
  }
  const rawRate = median(raw);
  const oursRate = median(ours);
  const concurrentRate = median(concurrent);
  const sealedRate = median(sealed);
  const sealedUncachedRate = median(sealedUncached);
  const sealedConcurrentRate = median(sealedConcurrentRates);
  const presealedRate = median(presealed);
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

  report({
    name: 'sqlite.ours.append.sequential.sealed',
    value: sealedRate,
    unit: 'events/s',
    note: `sealing store + SQLite key file; ${spread(sealed)}; key store reads per round: ${keyStoreReads.join(' / ')}`,
  });
  report({
    name: 'sqlite.ours.append.sequential.sealed_uncached',
    value: sealedUncachedRate,
    unit: 'events/s',
    note: `sealing store, no key cache: a key read per append; ${spread(sealedUncached)}`,
  });
  report({
    name: 'sqlite.ours.append.sequential.presealed',
    value: presealedRate,
    unit: 'events/s',
    note: `plain adapter, events sealed beforehand (bigger JSON only); ${spread(presealed)}`,
  });
  report({
    name: 'sqlite.ours.append.concurrent50.sealed',
    value: sealedConcurrentRate,
    unit: 'events/s',
    note: `${CALLERS} callers, sealing store; ${spread(sealedConcurrentRates)}; key store reads per round: ${concurrentKeyStoreReads.join(' / ')}`,
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
  const sealedLogFile = join(work, 'sealed-0.sqlite');
  const oursReads: number[] = [];
  const rawReads: number[] = [];
  const sealedReads: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    oursReads.push(await oursReadAndFold(logFile));
    rawReads.push(await rawReadAndFold(logFile));
    sealedReads.push(await oursReadAndFold(sealedLogFile));
  }
  const foldRate = median(oursReads);
  const rawFoldRate = median(rawReads);
  const sealedFoldRate = median(sealedReads);
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
  report({
    name: 'sqlite.ours.readall.fold.sealed',
    value: sealedFoldRate,
    unit: 'events/s',
    note: `the sealed log, nothing opened; ${spread(sealedReads)}`,
  });

  // Where sealing's cost goes, each part alone: the sizes, the vault's CPU with keys cached, a
  // key read from the key file (a cache miss), and opening a page of an answer.
  report({
    name: 'event.bytes.plain',
    value: storedBytes(presealedEvents.map((_, i) => eventOf(i))),
    unit: 'bytes',
    note: 'data + metadata JSON per event',
  });
  report({
    name: 'event.bytes.sealed',
    value: storedBytes(presealedEvents),
    unit: 'bytes',
    note: 'the same events sealed',
  });
  report({
    name: 'seal.cached_keys',
    value: await sealCachedKeys(presealedKeys),
    unit: 'events/s',
    note: 'vault.sealEvents + actor pseudonym per event, keys cached: policy walk, AES-256-GCM, HMAC',
  });
  const aes = aesPerValue();
  report({
    name: 'aes.seal.value',
    value: aes.seal,
    unit: 'values/s',
    note: 'seal(): one title, fresh IV, AES-256-GCM, base64url',
  });
  report({
    name: 'aes.open.value',
    value: aes.open,
    unit: 'values/s',
    note: 'sealedParts() + open(): one title',
  });
  report({
    name: 'keys.sqlite.read',
    value: await keyReads(presealedKeys, Math.min(APPENDS, 4 * STREAMS)),
    unit: 'reads/s',
    note: 'one subject key per read from the key file, as a cache miss reads it',
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
      const event = eventOf(i);
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
      const event = eventOf(i);
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
  const perRound = (plain: number[], other: number[]) =>
    `per round: ${plain.map((p, i) => (p / other[i]!).toFixed(2)).join(' / ')}`;
  report({
    name: 'ratio.sqlite.sealing_cost.append.sequential',
    value: oursRate / sealedRate,
    unit: 'x',
    note: `plain / sealed; ${perRound(ours, sealed)}`,
  });
  report({
    name: 'ratio.sqlite.sealing_cost.append.sequential_uncached',
    value: oursRate / sealedUncachedRate,
    unit: 'x',
    note: `plain / sealed with a key read per append; ${perRound(ours, sealedUncached)}`,
  });
  report({
    name: 'ratio.sqlite.sealing_cost.append.presealed',
    value: oursRate / presealedRate,
    unit: 'x',
    note: `plain / sealed beforehand: the bigger JSON alone; ${perRound(ours, presealed)}`,
  });
  report({
    name: 'ratio.sqlite.sealing_cost.append.concurrent50',
    value: concurrentRate / sealedConcurrentRate,
    unit: 'x',
    note: `plain / sealed; ${perRound(concurrent, sealedConcurrentRates)}`,
  });
  report({
    name: 'ratio.sqlite.sealing_cost.readall_fold',
    value: foldRate / sealedFoldRate,
    unit: 'x',
    note: `plain / sealed; ${perRound(oursReads, sealedReads)}`,
  });

  process.stdout.write('Opening an answer (a timeline page of 100 items)\n');
  await unsealFigures(presealedKeys);
  await presealedKeys.close();
}

async function postgresFigures(): Promise<void> {
  const admin = new Client({ connectionString: PG_URL });
  await admin.connect();
  const database = `bench_store_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  // The sealed appends get a database of their own, with their keys in it (KEY_STORE=postgres
  // keeps them beside the events), so the two logs are alike but for sealing.
  const sealedDatabase = `${database}_sealed`;
  await admin.query(`CREATE DATABASE ${sealedDatabase}`);
  const sealedUrl = new URL(PG_URL);
  sealedUrl.pathname = `/${sealedDatabase}`;
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
      const event = eventOf(i);
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
    const pgKeys = new PostgresSubjectKeyStore(sealedUrl.toString());
    await pgKeys.keys(SUBJECT_REFS, true);
    const keys = counting(pgKeys);
    const sealedInner = new PostgresEventStore({ connectionString: sealedUrl.toString() });
    // Plain and sealed take turns; each sealed workload gets a fresh vault (a cold key cache).
    const oursRate = await rate(PG_APPENDS, () => appendSequential(ours, PG_APPENDS));
    report({ name: 'postgres.ours.append.sequential', value: oursRate, unit: 'events/s' });
    const sealedSequentialStore = await sealing(sealedInner, keys);
    const sealedRate = await rate(PG_APPENDS, () =>
      appendSequential(sealedSequentialStore, PG_APPENDS),
    );
    const sequentialReads = keys.reads;
    keys.reads = 0;
    const oursConcurrentRate = await rate(PG_APPENDS, () =>
      appendConcurrent(ours, PG_APPENDS, CALLERS),
    );
    report({
      name: 'postgres.ours.append.concurrent50',
      value: oursConcurrentRate,
      unit: 'events/s',
      note: `${CALLERS} callers, group commit`,
    });
    const sealedConcurrentStore = await sealing(sealedInner, keys);
    const sealedConcurrentRate = await rate(PG_APPENDS, () =>
      appendConcurrent(sealedConcurrentStore, PG_APPENDS, CALLERS),
    );
    const concurrentReads = keys.reads;
    let folded = 0;
    const foldRate = await rate(2 * PG_APPENDS, async () => {
      folded = await readAndFold(ours);
    });
    if (folded !== 2 * PG_APPENDS)
      throw new Error(`read ${folded} events, expected ${2 * PG_APPENDS}`);
    report({ name: 'postgres.ours.readall.fold', value: foldRate, unit: 'events/s' });
    const sealedFoldRate = await rate(2 * PG_APPENDS, async () => {
      folded = await readAndFold(sealedInner);
    });
    if (folded !== 2 * PG_APPENDS)
      throw new Error(`read ${folded} sealed events, expected ${2 * PG_APPENDS}`);
    // Again with every subject's key in the vault's cache beforehand (one read of them all):
    // what remains is the vault's CPU and the bigger JSON, so the difference from the runs
    // above is what the key lookups cost. New streams, in the same sealed database.
    const warmVault = await PersonalDataVault.open(pgKeys, { keyCacheMs: 3_600_000 });
    await warmVault.sealEvents(
      Array.from({ length: STREAMS }, (_, n) => eventOf(n)),
      PERSONAL_DATA_POLICY,
    );
    const warm = new SealingEventStore(sealedInner, warmVault, PERSONAL_DATA_POLICY, STUDENT_ROLES);
    const warmSequentialRate = await rate(PG_APPENDS, () =>
      appendSequential(warm, PG_APPENDS, eventOf, '-warm'),
    );
    const warmConcurrentRate = await rate(PG_APPENDS, () =>
      appendConcurrent(warm, PG_APPENDS, CALLERS, '-warm'),
    );
    report({
      name: 'postgres.ours.append.sequential.sealed',
      value: sealedRate,
      unit: 'events/s',
      note: `sealing store + PostgreSQL key table; ${sequentialReads} key store reads`,
    });
    report({
      name: 'postgres.ours.append.concurrent50.sealed',
      value: sealedConcurrentRate,
      unit: 'events/s',
      note: `${CALLERS} callers, sealing store; ${concurrentReads} key store reads`,
    });
    report({
      name: 'postgres.ours.append.sequential.sealed_warm_keys',
      value: warmSequentialRate,
      unit: 'events/s',
      note: 'sealing store, every key cached beforehand: no key lookups',
    });
    report({
      name: 'postgres.ours.append.concurrent50.sealed_warm_keys',
      value: warmConcurrentRate,
      unit: 'events/s',
      note: `${CALLERS} callers, sealing store, every key cached beforehand`,
    });
    report({
      name: 'postgres.ours.readall.fold.sealed',
      value: sealedFoldRate,
      unit: 'events/s',
      note: 'the sealed log, nothing opened',
    });
    report({
      name: 'keys.postgres.read',
      value: await keyReads(pgKeys, scaled(5_000, 500)),
      unit: 'reads/s',
      note: 'one subject key per read from the key table, as a cache miss reads it',
    });
    await ours.close();
    await sealedInner.close();
    await pgKeys.close();

    process.stdout.write('Ratios\n');
    report({ name: 'ratio.postgres.ours_vs_raw.sequential', value: oursRate / rawRate, unit: 'x' });
    report({
      name: 'ratio.postgres.ours_concurrent50_vs_raw_concurrent8',
      value: oursConcurrentRate / rawConcurrentRate,
      unit: 'x',
    });
    report({
      name: 'ratio.postgres.sealing_cost.append.sequential',
      value: oursRate / sealedRate,
      unit: 'x',
      note: 'plain / sealed',
    });
    report({
      name: 'ratio.postgres.sealing_cost.append.concurrent50',
      value: oursConcurrentRate / sealedConcurrentRate,
      unit: 'x',
      note: 'plain / sealed',
    });
    report({
      name: 'ratio.postgres.sealing_cost.append.sequential_warm_keys',
      value: oursRate / warmSequentialRate,
      unit: 'x',
      note: 'plain / sealed with every key cached',
    });
    report({
      name: 'ratio.postgres.sealing_cost.append.concurrent50_warm_keys',
      value: oursConcurrentRate / warmConcurrentRate,
      unit: 'x',
      note: 'plain / sealed with every key cached',
    });
    report({
      name: 'ratio.postgres.sealing_cost.readall_fold',
      value: foldRate / sealedFoldRate,
      unit: 'x',
      note: 'plain / sealed',
    });
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`DROP DATABASE IF EXISTS ${sealedDatabase} WITH (FORCE)`);
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
