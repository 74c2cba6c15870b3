import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointMovedError,
  InvalidCursorError,
  InvalidIndexFieldError,
  ReadModelTooLargeError,
  encodeCursor,
  type ListQuery,
  type ReadModelStore,
} from '../../src/projections/read-model-store';
import { PostgresReadModelStore } from '../../src/stores/read-models/postgres-read-model-store';
import { SqliteReadModelStore } from '../../src/stores/read-models/sqlite-read-model-store';
import { freshSchemaUrl } from '../support/postgres';

type Subject = { store: ReadModelStore; dispose: () => Promise<void> };
/** Store options the suite varies: a small bound on `all` stands for the real, large one. */
type Options = { maxRows?: number };

const subjects: Array<[string, (options?: Options) => Promise<Subject>]> = [
  [
    'sqlite',
    (options) => {
      const dir = mkdtempSync(join(tmpdir(), 'rm-'));
      const store = new SqliteReadModelStore(join(dir, 'read-models.sqlite'), options);
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
    async (options) => {
      const store = new PostgresReadModelStore(await freshSchemaUrl(), options);
      return { store, dispose: () => store.close() };
    },
  ],
];

describe.each(subjects)('ReadModelStore contract: %s', (_name, open) => {
  let subject: Subject | undefined;
  let store: ReadModelStore;
  const dispose = async () => {
    await subject?.dispose();
    subject = undefined;
  };
  const reopen = async (options?: Options) => {
    await dispose();
    subject = await open(options);
    store = subject.store;
    await store.createGeneration('things', 1, 1);
    await store.activate('things', 1);
  };
  beforeEach(() => reopen());
  afterEach(dispose);

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

  it('a document read again after it changed, or after a rebuild was activated, is read as it is now', async () => {
    // The SQLite store keeps documents it has parsed, by the text they were parsed from.
    await commit(0, 1, [['a', { v: 1, items: [{ n: 1 }] }, {}]]);
    expect(await store.get('things', 'a')).toEqual({ v: 1, items: [{ n: 1 }] });
    expect(await store.get('things', 'a')).toEqual({ v: 1, items: [{ n: 1 }] });
    await commit(1, 2, [['a', { v: 2, items: [{ n: 2 }] }, {}]]);
    expect(await store.get('things', 'a')).toEqual({ v: 2, items: [{ n: 2 }] });
    await store.createGeneration('things', 2, 1);
    await commit(0, 2, [['a', { v: 3 }, {}]], [], 2);
    expect(await store.get('things', 'a')).toEqual({ v: 2, items: [{ n: 2 }] });
    await store.activate('things', 2);
    expect(await store.get('things', 'a')).toEqual({ v: 3 });
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

  const letter = (position: number, error = 'boom') => ({
    projection: 'things',
    position,
    eventId: `e-${position}`,
    eventType: 'Bad',
    streamName: 's-1',
    error,
    recordedAt: '2026-11-27T00:00:00.000Z',
  });

  it('keeps dead letters per generation: a rebuilt generation replaces them when it is activated', async () => {
    await store.commit({
      projection: 'things',
      generation: 1,
      writes: [],
      deletes: [],
      deadLetters: [letter(1), letter(2)],
      fromPosition: 0,
      toPosition: 2,
    });
    expect(await store.countDeadLetters()).toEqual(new Map([['things', 2]]));
    // A rebuild beside it: event 2 now applies, event 1 still fails (with a new error).
    await store.createGeneration('things', 2, 1);
    await store.commit({
      projection: 'things',
      generation: 2,
      writes: [{ key: 'a', doc: { n: 2 }, index: {} }],
      deletes: [],
      deadLetters: [letter(1, 'still failing')],
      fromPosition: 0,
      toPosition: 2,
    });
    // Until it is activated, the served generation's letters are the ones listed.
    expect((await store.deadLetters()).map((dead) => dead.position)).toEqual([1, 2]);
    await store.activate('things', 2);
    expect(await store.deadLetters()).toEqual([letter(1, 'still failing')]);
    expect(await store.countDeadLetters()).toEqual(new Map([['things', 1]]));
    // A generation dropped without being activated takes its dead letters with it.
    await store.createGeneration('things', 3, 1);
    await store.commit({
      projection: 'things',
      generation: 3,
      writes: [],
      deletes: [],
      deadLetters: [letter(1)],
      fromPosition: 0,
      toPosition: 2,
    });
    await store.dropGeneration('things', 3);
    await store.createGeneration('things', 3, 1);
    await store.commit({
      projection: 'things',
      generation: 3,
      writes: [],
      deletes: [],
      deadLetters: [],
      fromPosition: 0,
      toPosition: 2,
    });
    await store.activate('things', 3);
    expect(await store.deadLetters()).toEqual([]);
    expect(await store.countDeadLetters()).toEqual(new Map());
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

  /** Every page of `query`, following cursors to the end: the keys in the order they came. */
  const everyPage = async (query: Omit<ListQuery, 'cursor'>): Promise<string[]> => {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      // A cursor that does not move on would loop for ever: fail instead.
      if (keys.length > 100) throw new Error(`paging does not end: ${keys.join(',')}`);
      const page = await store.list('things', { ...query, ...(cursor ? { cursor } : {}) });
      keys.push(...page.items.map((doc) => (doc as { k: string }).k));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return keys;
  };

  it('matches a null filter against a null field and an absent one, never against a value', async () => {
    await commit(0, 1, [
      ['a', { k: 'a' }, { group: 'g', kind: null }],
      ['b', { k: 'b' }, { group: 'g' }],
      ['c', { k: 'c' }, { group: 'g', kind: 'x' }],
      ['d', { k: 'd' }, { group: 'h', kind: null }],
    ]);
    const nulls = await store.list('things', {
      where: { group: 'g', kind: null },
      orderBy: 'key',
      limit: 10,
    });
    expect(nulls.items).toEqual([{ k: 'a' }, { k: 'b' }]);
    expect(await store.all('things', { group: 'g', kind: null })).toEqual([{ k: 'a' }, { k: 'b' }]);
    expect(await store.indexes('things', { group: 'g', kind: null })).toEqual([
      { group: 'g', kind: null },
      { group: 'g' },
    ]);
    expect(await store.all('things', { kind: 'x' })).toEqual([{ k: 'c' }]);
    // A filter left undefined filters nothing (a Partial spread in), unlike null.
    expect(await store.all('things', { group: 'g', kind: undefined })).toHaveLength(3);
  });

  it('returns all matches up to its bound whole, and throws past it rather than cutting short', async () => {
    await reopen({ maxRows: 5 });
    await commit(
      0,
      1,
      Array.from({ length: 5 }, (_, i) => [`k${i}`, { k: `k${i}` }, { group: 'g' }]),
    );
    expect(await store.all('things', {})).toHaveLength(5);
    expect(await store.indexes('things', { group: 'g' })).toHaveLength(5);
    await commit(1, 2, [['k5', { k: 'k5' }, { group: 'g' }]]);
    await expect(store.all('things', {})).rejects.toBeInstanceOf(ReadModelTooLargeError);
    await expect(store.indexes('things', { group: 'g' })).rejects.toBeInstanceOf(
      ReadModelTooLargeError,
    );
    // Paging is not bounded: list still reaches every document.
    expect(await everyPage({ where: {}, orderBy: 'key', limit: 4 })).toHaveLength(6);
  });

  it('answers every cursor it did not issue with InvalidCursorError', async () => {
    await commit(0, 1, [['a', { k: 'a' }, { rank: 1 }]]);
    const issued = encodeCursor(1, 'a');
    const forged = [
      'not a cursor',
      Buffer.from('{"value":1}').toString('base64url'),
      Buffer.from('[1,"a",3]').toString('base64url'),
      Buffer.from('[{"a":1},"a"]').toString('base64url'),
      Buffer.from('[1, "a"]').toString('base64url'),
      `${issued}=`,
    ];
    for (const cursor of forged) {
      await expect(
        store.list('things', { where: {}, orderBy: 'rank', limit: 1, cursor }),
      ).rejects.toBeInstanceOf(InvalidCursorError);
    }
    // Even on a read model that has no generation yet: the cursor is checked first.
    await expect(
      store.list('nothing-yet', { where: {}, orderBy: 'key', limit: 1, cursor: 'x' }),
    ).rejects.toBeInstanceOf(InvalidCursorError);
    expect(
      (await store.list('things', { where: {}, orderBy: 'rank', limit: 1, cursor: issued })).items,
    ).toEqual([]);
  });

  it('breaks ties in the order by key, in both directions and across pages', async () => {
    await commit(0, 1, [
      ['e', { k: 'e' }, { rank: 2 }],
      ['b', { k: 'b' }, { rank: 1 }],
      ['d', { k: 'd' }, { rank: 1 }],
      ['a', { k: 'a' }, { rank: 2 }],
      ['c', { k: 'c' }, { rank: 1 }],
      ['f', { k: 'f' }, { rank: 10 }],
    ]);
    expect(await everyPage({ where: {}, orderBy: 'rank', limit: 2 })).toEqual([
      'b',
      'c',
      'd',
      'a',
      'e',
      'f',
    ]);
    expect(await everyPage({ where: {}, orderBy: 'rank', descending: true, limit: 2 })).toEqual([
      'f',
      'e',
      'a',
      'd',
      'c',
      'b',
    ]);
  });

  it('orders null and absent values first ascending and last descending, paging through them', async () => {
    await commit(0, 1, [
      ['a', { k: 'a' }, { at: '2026-01-02' }],
      ['b', { k: 'b' }, { at: null }],
      ['c', { k: 'c' }, {}],
      ['d', { k: 'd' }, { at: '2026-01-01' }],
      ['e', { k: 'e' }, { at: null }],
    ]);
    expect(await everyPage({ where: {}, orderBy: 'at', limit: 2 })).toEqual([
      'b',
      'c',
      'e',
      'd',
      'a',
    ]);
    expect(await everyPage({ where: {}, orderBy: 'at', descending: true, limit: 2 })).toEqual([
      'a',
      'd',
      'e',
      'c',
      'b',
    ]);
  });

  it('refuses an index field name that is not a plain identifier, before any SQL runs', async () => {
    await commit(0, 1, [['a', { k: 'a' }, { kind: 'x' }]]);
    const names = ["kind') IS NULL OR ('1", "x'; DROP TABLE rm_documents; --", 'a.b', '1st', ''];
    for (const name of names) {
      await expect(
        store.list('things', { where: { [name]: 'x' }, orderBy: 'key', limit: 1 }),
      ).rejects.toBeInstanceOf(InvalidIndexFieldError);
      await expect(
        store.list('things', { where: {}, orderBy: name, limit: 1 }),
      ).rejects.toBeInstanceOf(InvalidIndexFieldError);
      await expect(store.all('things', { [name]: null })).rejects.toBeInstanceOf(
        InvalidIndexFieldError,
      );
      await expect(store.indexes('things', { [name]: 'x' })).rejects.toBeInstanceOf(
        InvalidIndexFieldError,
      );
    }
    expect(await store.all('things', {})).toEqual([{ k: 'a' }]);
  });
});
