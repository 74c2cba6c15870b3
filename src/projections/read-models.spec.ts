import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteReadModelStore } from '../stores/read-models/sqlite-read-model-store';
import type { Projection } from './projection';
import { ReadModels } from './read-models';

type Tally = { readonly owner: string; readonly count: number };
type TallyIndex = { readonly owner: string; readonly count: number };

const tallies: Projection<Tally, TallyIndex> = {
  name: 'tallies',
  version: 1,
  keysOf: () => [],
  evolve: (doc) => doc,
  indexOf: (doc) => ({ owner: doc.owner, count: doc.count }),
};

describe('ReadModels', () => {
  let dir: string;
  let store: SqliteReadModelStore;
  let readModels: ReadModels;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'read-models-'));
    store = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
    readModels = new ReadModels(store);
    await store.createGeneration('tallies', 1, 1);
    await store.activate('tallies', 1);
    const docs: Array<[string, Tally]> = [
      ['a', { owner: 'p1', count: 3 }],
      ['b', { owner: 'p1', count: 1 }],
      ['c', { owner: 'p2', count: 2 }],
    ];
    await store.commit({
      projection: 'tallies',
      generation: 1,
      writes: docs.map(([key, doc]) => ({ key, doc, index: tallies.indexOf(doc) })),
      deletes: [],
      deadLetters: [],
      fromPosition: 0,
      toPosition: 1,
    });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads a projection's documents and index fields by the projection, not by its name", async () => {
    const doc = await readModels.get(tallies, 'a');
    // Typed as Tally: no cast between the store and the caller.
    expect(doc?.count).toBe(3);
    expect(await readModels.get(tallies, 'nope')).toBeUndefined();
    const page = await readModels.list(tallies, {
      where: { owner: 'p1' },
      orderBy: 'count',
      limit: 10,
    });
    expect(page.items.map((item) => item.count)).toEqual([1, 3]);
    const owners: string[] = (await readModels.indexes(tallies, {})).map((index) => index.owner);
    expect(owners).toEqual(['p1', 'p1', 'p2']);
    expect(await readModels.all(tallies, { owner: 'p2' })).toEqual([{ owner: 'p2', count: 2 }]);
    expect((await readModels.activeGeneration(tallies))?.generation).toBe(1);
  });

  it('refuses at compile time a filter or order on a field the projection does not index', async () => {
    // The runtime answer is beside the point; the lines below must not type-check.
    await readModels.list(tallies, {
      // @ts-expect-error `colour` is not an index field of tallies.
      where: { colour: 'red' },
      orderBy: 'key',
      limit: 1,
    });
    // @ts-expect-error `colour` is not an index field of tallies.
    await readModels.list(tallies, { where: {}, orderBy: 'colour', limit: 1 });
    // @ts-expect-error `count` is a number.
    await readModels.indexes(tallies, { count: 'three' });
  });
});
