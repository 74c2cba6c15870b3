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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../src/event-sourcing';
import { SqliteEventStore } from '../src/stores/sqlite/sqlite-event-store';
import { appendWorkloads } from './append-workloads';
import { rate } from './bench-kit';

const APPENDS = Number(process.env.APPENDS ?? 200_000);
const STREAMS = Number(process.env.STREAMS ?? 10_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CALLERS = 50;
const { appendSequential, appendConcurrent, rawSequential } = appendWorkloads(STREAMS);
const work = mkdtempSync(join(tmpdir(), 'append-ab-'));

type Store = EventStore & { close(): Promise<void> };
type StoreClass = new (options: { fileName: string }) => Store;

const sequential = (store: EventStore) => appendSequential(store, APPENDS);
const concurrent = (store: EventStore) => appendConcurrent(store, APPENDS, CALLERS);
const raw = (fileName: string) => rawSequential(fileName, APPENDS);

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
