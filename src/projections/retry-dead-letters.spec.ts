import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEvent } from '../../test/support/events';
import { FaultyReadModelStore, refusalError } from '../../test/support/faults';
import type { RecordedEvent } from '../event-sourcing';
import { SqliteReadModelStore } from '../stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import type { Projection } from './projection';
import { rebuildProjection } from './projection-rebuild';
import { ProjectionRunner } from './projection-runner';
import { retryDeadLetters } from './retry-dead-letters';

type Latest = { count: number; last: number; max: number };

// The last `n` of each stream, the largest, and how many events: order matters, as for most
// read models. A 'Poison' event makes evolve throw.
const latest: Projection<Latest> = {
  name: 'latest',
  version: 1,
  keysOf: (event: RecordedEvent) => [event.streamName],
  evolve: (doc, event) => {
    if (event.type === 'Poison') throw new Error('cannot digest this');
    const n = Number(event.data.n);
    return { count: (doc?.count ?? 0) + 1, last: n, max: Math.max(doc?.max ?? 0, n) };
  },
  indexOf: () => ({}),
};

describe('dead letters retried by a rebuild', () => {
  let dir: string;
  let events: SqliteEventStore;
  let readModels: SqliteReadModelStore;
  let faulty: FaultyReadModelStore;
  // Until fixed, the store refuses a document that has seen 1000 (as PostgreSQL refused NULs).
  let refusing: boolean;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'retry-'));
    events = new SqliteEventStore({ fileName: join(dir, 'events.sqlite'), pollIntervalMs: 20 });
    readModels = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
    faulty = new FaultyReadModelStore(readModels);
    refusing = true;
    faulty.fault = (commit) =>
      refusing && commit.writes.some((write) => (write.doc as Latest).max >= 1000)
        ? refusalError()
        : undefined;
  });
  afterEach(async () => {
    await events.close();
    await readModels.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a rebuild sets refused events aside as its own dead letters, and finishes', async () => {
    for (let i = 1; i <= 30; i += 1)
      await events.append(`s-${i % 3}`, [testEvent('Set', { n: i === 11 ? 1000 : i })]);
    const result = await rebuildProjection(events, faulty, latest, {
      batchSize: 7,
      flushEvents: 10,
    });
    expect(result).toEqual({ generation: 1, position: 30, applied: 30 });
    expect(await readModels.deadLetters()).toEqual([
      expect.objectContaining({ position: 11, error: expect.stringContaining('refused') }),
    ]);
    expect(await readModels.get('latest', 's-2')).toEqual({ count: 9, last: 29, max: 29 });
    expect(await readModels.get('latest', 's-1')).toEqual({ count: 10, last: 28, max: 28 });
  });

  it('after a fix, applies again in order the letters that now apply and keeps those that still fail', async () => {
    const runner = new ProjectionRunner(events, faulty, [latest], { batchSize: 4 });
    try {
      await runner.start();
      await events.append('s-1', [testEvent('Set', { n: 1 })]);
      await events.append('s-1', [testEvent('Set', { n: 1000 })]);
      await events.append('s-1', [testEvent('Poison', { n: 2 })]);
      const { position } = await events.append('s-1', [testEvent('Set', { n: 7 })]);
      expect(await runner.waitFor(position, 20_000)).toBe(true);
      expect(await readModels.get('latest', 's-1')).toEqual({ count: 2, last: 7, max: 7 });
      expect((await readModels.deadLetters()).map((letter) => letter.position)).toEqual([2, 3]);

      refusing = false;
      const progress: number[] = [];
      const retry = await retryDeadLetters(events, faulty, [latest], {
        onProgress: ({ position: at }) => progress.push(at),
      });
      expect(retry).toEqual({
        before: 2,
        reapplied: 1,
        remaining: [expect.objectContaining({ position: 3, error: 'cannot digest this' })],
      });
      expect(progress[progress.length - 1]).toBe(4);
      // In order: 1000 came before 7, so 7 is still the last (applied late, 1000 would be).
      expect(await readModels.get('latest', 's-1')).toEqual({ count: 3, last: 7, max: 1000 });
      expect((await readModels.activeGeneration('latest'))?.generation).toBe(2);

      // The live runner follows the rebuilt generation (its commit to the old one was refused).
      const later = await events.append('s-1', [testEvent('Set', { n: 8 })]);
      expect(await runner.waitFor(later.position, 20_000)).toBe(true);
      expect(await readModels.get('latest', 's-1')).toEqual({ count: 4, last: 8, max: 1000 });
      expect(await readModels.countDeadLetters()).toEqual(new Map([['latest', 1]]));
    } finally {
      await runner.stop();
    }
  });

  it('with no dead letters, rebuilds nothing', async () => {
    await events.append('s-1', [testEvent('Set', { n: 1 })]);
    await readModels.createGeneration('latest', 1, 1);
    await readModels.activate('latest', 1);
    expect(await retryDeadLetters(events, readModels, [latest])).toEqual({
      before: 0,
      reapplied: 0,
      remaining: [],
    });
    expect((await readModels.activeGeneration('latest'))?.generation).toBe(1);
  });
});
