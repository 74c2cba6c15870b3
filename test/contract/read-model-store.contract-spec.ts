import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointMovedError, type ReadModelStore } from '../../src/projections/read-model-store';
import { PostgresReadModelStore } from '../../src/stores/read-models/postgres-read-model-store';
import { SqliteReadModelStore } from '../../src/stores/read-models/sqlite-read-model-store';
import { freshSchemaUrl } from '../support/postgres';

type Subject = { store: ReadModelStore; dispose: () => Promise<void> };

const subjects: Array<[string, () => Promise<Subject>]> = [
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'rm-'));
      const store = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
      return Promise.resolve({
        store,
        dispose: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  ],
  [
    'postgres',
    async () => {
      const store = new PostgresReadModelStore(await freshSchemaUrl());
      return { store, dispose: () => store.close() };
    },
  ],
];

describe.each(subjects)('ReadModelStore contract: %s', (_name, open) => {
  let subject: Subject;
  let store: ReadModelStore;
  beforeEach(async () => {
    subject = await open();
    store = subject.store;
    await store.createGeneration('things', 1, 1);
    await store.activate('things', 1);
  });
  afterEach(() => subject.dispose());

  const commit = (
    from: number,
    to: number,
    writes: Array<[string, unknown, Record<string, string | number | null>]>,
    deletes: string[] = [],
    generation = 1,
  ) =>
    store.commit({
      projection: 'things',
      generation,
      writes: writes.map(([key, doc, index]) => ({ key, doc, index })),
      deletes,
      deadLetters: [],
      fromPosition: from,
      toPosition: to,
    });

  it('writes documents and moves the checkpoint together; a stale checkpoint writes nothing', async () => {
    await commit(0, 3, [['a', { n: 1 }, { kind: 'x' }]]);
    expect(await store.activeGeneration('things')).toEqual({
      generation: 1,
      position: 3,
      version: 1,
    });
    await expect(commit(0, 5, [['b', { n: 2 }, { kind: 'x' }]])).rejects.toBeInstanceOf(
      CheckpointMovedError,
    );
    expect(await store.get('things', 'b')).toBeUndefined();
    expect(await store.get('things', 'a')).toEqual({ n: 1 });
    await commit(3, 4, [], ['a']);
    expect(await store.get('things', 'a')).toBeUndefined();
  });

  it('loads by key and lists by index fields and key prefix, paging by cursor without gaps or repeats', async () => {
    const writes: Array<[string, unknown, Record<string, string | number | null>]> = [];
    for (let i = 0; i < 25; i += 1)
      writes.push([`p1/${String(i).padStart(4, '0')}`, { i }, { owner: 'p1', rank: 25 - i }]);
    writes.push(['p2/0000', { i: 99 }, { owner: 'p2', rank: 0 }]);
    await commit(0, 1, writes);
    expect([...(await store.load('things', 1, ['p1/0003', 'nope'])).keys()]).toEqual(['p1/0003']);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list('things', {
        keyPrefix: 'p1/',
        where: {},
        orderBy: 'key',
        limit: 7,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((doc) => (doc as { i: number }).i));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const byRank = await store.list('things', {
      where: { owner: 'p1' },
      orderBy: 'rank',
      descending: true,
      limit: 3,
    });
    expect(byRank.items).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const next = await store.list('things', {
      where: { owner: 'p1' },
      orderBy: 'rank',
      descending: true,
      limit: 3,
      cursor: byRank.nextCursor!,
    });
    expect(next.items).toEqual([{ i: 3 }, { i: 4 }, { i: 5 }]);
    expect(await store.all('things', { owner: 'p2' })).toEqual([{ i: 99 }]);
    expect(await store.indexes('things', { owner: 'p2' })).toEqual([{ owner: 'p2', rank: 0 }]);
    expect(await store.indexes('things', { owner: 'p1', rank: 25 })).toEqual([
      { owner: 'p1', rank: 25 },
    ]);
  });

  it('serves the active generation while another fills, then switches and drops the old one', async () => {
    await commit(0, 2, [['a', { v: 'old' }, {}]]);
    await store.createGeneration('things', 2, 2);
    await commit(0, 2, [['a', { v: 'new' }, {}]], [], 2);
    expect(await store.get('things', 'a')).toEqual({ v: 'old' });
    await store.activate('things', 2);
    expect(await store.get('things', 'a')).toEqual({ v: 'new' });
    expect(await store.activeGeneration('things')).toEqual({
      generation: 2,
      position: 2,
      version: 2,
    });
    expect(await store.generation('things', 1)).toBeUndefined();
  });

  it('keeps dead letters', async () => {
    await store.commit({
      projection: 'things',
      generation: 1,
      writes: [],
      deletes: [],
      deadLetters: [
        {
          projection: 'things',
          position: 1,
          eventId: 'e',
          eventType: 'Bad',
          streamName: 's-1',
          error: 'boom',
          recordedAt: '2026-11-27T00:00:00.000Z',
        },
      ],
      fromPosition: 0,
      toPosition: 1,
    });
    expect(await store.deadLetters()).toEqual([
      {
        projection: 'things',
        position: 1,
        eventId: 'e',
        eventType: 'Bad',
        streamName: 's-1',
        error: 'boom',
        recordedAt: '2026-11-27T00:00:00.000Z',
      },
    ]);
  });

  it('scans a generation in key order, page by page, and drops a generation that is not active', async () => {
    await commit(0, 3, [
      ['b', { n: 2 }, { kind: 'x' }],
      ['a', { n: 1 }, { kind: 'y' }],
      ['c', { n: 3 }, { kind: 'x' }],
    ]);
    await store.createGeneration('things', 0, 1);
    await commit(0, 1, [['z', { n: 9 }, {}]], [], 0);
    expect(await store.scan('things', 1, '', 2)).toEqual([
      { key: 'a', doc: { n: 1 }, index: { kind: 'y' } },
      { key: 'b', doc: { n: 2 }, index: { kind: 'x' } },
    ]);
    expect(await store.scan('things', 1, 'b', 2)).toEqual([
      { key: 'c', doc: { n: 3 }, index: { kind: 'x' } },
    ]);
    await store.dropGeneration('things', 0);
    expect(await store.scan('things', 0, '', 10)).toEqual([]);
    expect(await store.generation('things', 0)).toBeUndefined();
    await expect(store.dropGeneration('things', 1)).rejects.toThrow(/active/);
    expect(await store.scan('things', 1, '', 10)).toHaveLength(3);
  });
});
