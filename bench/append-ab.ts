/**
 * The two SQLite append ratios of `bench:store` (sequential and 50 concurrent callers, each over
 * raw better-sqlite3 one-transaction-per-append), without the rest of that benchmark, and
 * optionally for a second copy of the code (a baseline) in the same run, so that a change is
 * measured side by side on this shared machine rather than against old numbers.
 *
 *   git archive main src | tar -x -C /tmp/append-base   # the baseline, e.g. main
 *   BASE_SRC=/tmp/append-base/src NODE_PATH=$PWD/node_modules \
 *     node -r @swc-node/register bench/append-ab.ts
 *
 * Workloads take turns, each on a fresh file deleted when it is done (so one workload's dirty
 * pages are not written back during the next), in an order that rotates every round. Sizes:
 * APPENDS (default 200,000, as bench:store at scale 1), STREAMS (10,000), ROUNDS (3).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type EventStore, timeOrderedUuid } from '../src/event-sourcing';
import { SqliteEventStore } from '../src/stores/sqlite/sqlite-event-store';
import { activityEvent, rate } from './bench-kit';

const APPENDS = Number(process.env.APPENDS ?? 200_000);
const STREAMS = Number(process.env.STREAMS ?? 10_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CALLERS = 50;
const streamOf = (i: number) => `participant-${i % STREAMS}`;
const eventOf = (i: number) => activityEvent(i, i % STREAMS);
const work = mkdtempSync(join(tmpdir(), 'append-ab-'));

type Store = EventStore & { close(): Promise<void> };
type StoreClass = new (options: { fileName: string }) => Store;

async function sequential(store: EventStore): Promise<void> {
  const revisions = new Map<string, number>();
  for (let i = 0; i < APPENDS; i += 1) {
    const stream = streamOf(i);
    const result = await store.append(stream, [eventOf(i)], {
      expectedRevision: revisions.get(stream) ?? 'no_stream',
    });
    revisions.set(stream, result.nextRevision);
  }
}

async function concurrent(store: EventStore): Promise<void> {
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      const revisions = new Map<string, number>();
      for (let i = caller; i < APPENDS; i += CALLERS) {
        const stream = `${streamOf(i)}-c${caller}`;
        const result = await store.append(stream, [eventOf(i)], {
          expectedRevision: revisions.get(stream) ?? 'no_stream',
        });
        revisions.set(stream, result.nextRevision);
      }
    }),
  );
}

// The raw peer of bench/store.bench.ts (rawSqlite there), one transaction per append.
async function raw(fileName: string): Promise<number> {
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
  const revisions = new Map<string, number>();
  const oneTx = db.transaction((i: number) => {
    const stream = streamOf(i);
    const expected = revisions.get(stream) ?? -1;
    const current = head.get(stream) as { revision: number; hash: string } | undefined;
    if ((current?.revision ?? -1) !== expected) throw new Error('wrong expected revision');
    const event = eventOf(i);
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
    revisions.set(stream, expected + 1);
  });
  const result = await rate(APPENDS, () => {
    for (let i = 0; i < APPENDS; i += 1) oneTx.immediate(i);
  });
  db.close();
  return result;
}

async function through(
  Store: StoreClass,
  workload: (store: EventStore) => Promise<void>,
  fileName: string,
): Promise<number> {
  const store = new Store({ fileName });
  const result = await rate(APPENDS, () => workload(store));
  await store.close();
  return result;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const stores: Array<[string, StoreClass]> = [['ours', SqliteEventStore]];
  if (process.env.BASE_SRC) {
    const base = (await import(join(process.env.BASE_SRC, 'stores/sqlite/sqlite-event-store'))) as {
      SqliteEventStore: StoreClass;
    };
    stores.unshift(['base', base.SqliteEventStore]);
  }
  const workloads: Array<[string, (fileName: string) => Promise<number>]> = [
    ['raw', raw],
    ...stores.flatMap(([name, Store]): Array<[string, (fileName: string) => Promise<number>]> => [
      [`${name}.sequential`, (fileName) => through(Store, sequential, fileName)],
      [`${name}.concurrent50`, (fileName) => through(Store, concurrent, fileName)],
    ]),
  ];
  process.stdout.write(
    `${APPENDS} appends over ${STREAMS} streams, ${ROUNDS} rounds, SQLite WAL synchronous=NORMAL\n`,
  );
  const rates = new Map<string, number[]>(workloads.map(([name]) => [name, []]));
  const ratios = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = [
      ...workloads.slice(round % workloads.length),
      ...workloads.slice(0, round % workloads.length),
    ];
    const measured = new Map<string, number>();
    for (const [name, run] of order) {
      const fileName = join(work, `${name}-${round}.sqlite`);
      measured.set(name, await run(fileName));
      for (const suffix of ['', '-wal', '-shm']) rmSync(fileName + suffix, { force: true });
    }
    const rawRate = measured.get('raw')!;
    for (const [name, value] of measured) {
      rates.get(name)!.push(value);
      if (name !== 'raw') ratios.set(name, [...(ratios.get(name) ?? []), value / rawRate]);
    }
    process.stdout.write(
      `round ${round}: ${[...measured].map(([name, value]) => `${name} ${Math.round(value)}/s`).join(', ')}\n`,
    );
  }
  process.stdout.write('\n');
  for (const [name, values] of rates) {
    process.stdout.write(`bench: append_ab.${name} ${Math.round(median(values))} events/s\n`);
  }
  for (const [name, values] of ratios) {
    process.stdout.write(
      `bench: append_ab.ratio.${name}_vs_raw ${median(values).toFixed(3)} x  (per round: ${values.map((v) => v.toFixed(2)).join(' / ')})\n`,
    );
  }
  rmSync(work, { recursive: true, force: true });
}

void main();
