import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEvent } from '../../test/support/events';
import type { RecordedEvent } from '../event-sourcing';
import { SqliteReadModelStore } from '../stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import type { Projection } from './projection';
import { ProjectionRunner } from './projection-runner';
import { rebuildProjection } from './projection-rebuild';
import { verifyReadModels } from './verify-read-models';

const totals: Projection<{ total: number }> = {
  name: 'totals',
  version: 1,
  keysOf: (event: RecordedEvent) => [event.streamName],
  evolve: (doc, event) => ({ total: (doc?.total ?? 0) + Number(event.data.n ?? 0) }),
  indexOf: (doc) => ({ total: doc.total }),
};

describe('verifyReadModels', () => {
  let dir: string;
  let events: SqliteEventStore;
  let readModels: SqliteReadModelStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'verify-rm-'));
    events = new SqliteEventStore({ fileName: join(dir, 'events.sqlite'), pollIntervalMs: 10 });
    readModels = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
  });
  afterEach(async () => {
    await events.close();
    await readModels.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds nothing wrong while the live runner applies a burst of appends, and leaves no scratch rows', async () => {
    for (let i = 0; i < 200; i += 1)
      await events.append(`s-${i % 5}`, [testEvent('Added', { n: 1 })]);
    const runner = new ProjectionRunner(events, readModels, [totals], { batchSize: 3 });
    await runner.start();
    const burst = (async () => {
      for (let i = 0; i < 100; i += 1)
        await events.append(`s-${i % 7}`, [testEvent('Added', { n: 2 })]);
    })();
    const report = await verifyReadModels(events, readModels, [totals]);
    await burst;
    await runner.stop();
    expect(report.problems).toEqual([]);
    expect(report.readModels).toEqual([
      { name: 'totals', position: expect.any(Number), documents: expect.any(Number) },
    ]);
    // Only the live generation's rows remain.
    expect(await readModels.scan('totals', 1, '', 100)).toHaveLength(7);
    expect(await readModels.activeGeneration('totals')).toMatchObject({ generation: 1 });
  });

  it('names a row that is missing, one that should not be there, and a projection due for a rebuild', async () => {
    await events.append('s-1', [testEvent('Added', { n: 1 })]);
    await events.append('s-2', [testEvent('Added', { n: 1 })]);
    await rebuildProjection(events, readModels, totals);
    const generation = (await readModels.activeGeneration('totals'))!.generation;
    const position = (await readModels.activeGeneration('totals'))!.position;
    // Behind the runner's back: s-2 deleted, s-9 invented (the checkpoint is left where it was).
    await readModels.commit({
      projection: 'totals',
      generation,
      writes: [{ key: 's-9', doc: { total: 5 }, index: { total: 5 } }],
      deletes: ['s-2'],
      deadLetters: [],
      fromPosition: position,
      toPosition: position,
    });
    expect((await verifyReadModels(events, readModels, [totals])).problems).toEqual([
      {
        projection: 'totals',
        key: 's-2',
        problem: 'is missing: a fresh replay of the log produces this row',
      },
      {
        projection: 'totals',
        key: 's-9',
        problem: 'is not in a fresh replay of the log: the events do not produce this row',
      },
    ]);
    const changed = { ...totals, version: 2 };
    expect((await verifyReadModels(events, readModels, [changed])).problems).toEqual([
      {
        projection: 'totals',
        key: null,
        problem: 'built by version 1 of its projection, the code is version 2: a rebuild is due',
      },
    ]);
  });
});
