import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SubjectKeyConflictError,
  type SubjectKey,
  type SubjectKeyStore,
  type SubjectKeyStoreCopy,
} from '../../src/event-sourcing/personal-data/key-store';
import { PostgresSubjectKeyStore } from '../../src/stores/keys/postgres-subject-key-store';
import { SqliteSubjectKeyStore } from '../../src/stores/keys/sqlite-subject-key-store';
import { Client } from 'pg';
import { freshSchemaUrl, storedCopies } from '../support/postgres';
import { filesIn, placesHolding, purgeUntilGone } from '../support/traces';

/** Every adapter is also copied from and into by the encrypt-log migration. */
type Store = SubjectKeyStore & SubjectKeyStoreCopy;

/** A store, more instances over the same storage, and a look at the raw bytes it stores. */
type Subject = {
  store: Store;
  /** Another instance over the same file or database, as another process would open it. */
  another: () => Store;
  /** Closes every instance and opens a new one on the same storage. */
  reopen: () => Promise<Store>;
  /** Where the storage holds any of these keys (file names; `pg_dump`, `heap`): none, ideally. */
  traces: (keys: readonly Buffer[]) => Promise<string[]>;
  dispose: () => Promise<void>;
};

const subjects: Array<[string, () => Promise<Subject>]> = [
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'keys-'));
      let opened: Store[] = [];
      const another = () => {
        opened.push(new SqliteSubjectKeyStore(join(dir, 'keys.sqlite')));
        return opened[opened.length - 1]!;
      };
      const closeAll = async () => {
        for (const store of opened) await store.close();
        opened = [];
      };
      return Promise.resolve({
        store: another(),
        another,
        reopen: async () => {
          await closeAll();
          return another();
        },
        // Every file in the folder: the database, its WAL and shared-memory index.
        traces: (keys) => Promise.resolve(placesHolding(filesIn(dir), keys)),
        dispose: async () => {
          await closeAll();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  ],
  [
    'postgres',
    async () => {
      const url = await freshSchemaUrl();
      let opened: Store[] = [];
      const another = () => {
        opened.push(new PostgresSubjectKeyStore(url));
        return opened[opened.length - 1]!;
      };
      const closeAll = async () => {
        for (const store of opened) await store.close();
        opened = [];
      };
      return {
        store: another(),
        another,
        reopen: async () => {
          await closeAll();
          return another();
        },
        traces: async (keys) => placesHolding(await storedCopies(url, 'subject_keys'), keys),
        dispose: closeAll,
      };
    },
  ],
];

describe.each(subjects)('SubjectKeyStore contract: %s', (_name, open) => {
  let subject: Subject;
  let store: Store;
  beforeEach(async () => {
    subject = await open();
    store = subject.store;
  });
  afterEach(() => subject.dispose());

  /** The live key of one subject, failing the test when there is none. */
  const liveKey = (found: Map<string, SubjectKey>, ref: string): Buffer => {
    const key = found.get(ref);
    if (key?.state !== 'live')
      throw new Error(`${ref}: expected a live key, got ${String(key?.state)}`);
    return key.key;
  };

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('keeps one pseudonym secret of 32 bytes, across a reopen and for every instance', async () => {
    const [first, second] = await Promise.all([
      store.pseudonymSecret(),
      subject.another().pseudonymSecret(),
    ]);
    expect(first).toHaveLength(32);
    expect(second.equals(first)).toBe(true);
    expect((await store.pseudonymSecret()).equals(first)).toBe(true);
    const reopened = await subject.reopen();
    expect((await reopened.pseudonymSecret()).equals(first)).toBe(true);
  });

  it('makes instances that start together agree on one secret', async () => {
    const secrets = await Promise.all(
      [subject.another(), subject.another(), subject.another()].map((instance) =>
        instance.pseudonymSecret(),
      ),
    );
    for (const secret of secrets) expect(secret.equals(secrets[0]!)).toBe(true);
  });

  it('hands out a copy of the secret, so that changing one changes nothing stored', async () => {
    const secret = await store.pseudonymSecret();
    const kept = Buffer.from(secret);
    secret.fill(0);
    expect((await store.pseudonymSecret()).equals(kept)).toBe(true);
  });

  it('creates a random 32-byte key per subject, stable across calls, instances and a reopen', async () => {
    const created = await store.keys(['aa01', 'bb02', 'aa01'], true);
    expect([...created.keys()].sort()).toEqual(['aa01', 'bb02']);
    const a = liveKey(created, 'aa01');
    const b = liveKey(created, 'bb02');
    expect(a).toHaveLength(32);
    expect(b).toHaveLength(32);
    expect(a.equals(b)).toBe(false);
    expect(a.equals(Buffer.alloc(32))).toBe(false);
    const again = await store.keys(['aa01', 'bb02'], true);
    expect(liveKey(again, 'aa01').equals(a)).toBe(true);
    expect(liveKey(await subject.another().keys(['bb02'], false), 'bb02').equals(b)).toBe(true);
    const reopened = await subject.reopen();
    expect(liveKey(await reopened.keys(['aa01'], false), 'aa01').equals(a)).toBe(true);
  });

  it('leaves subjects without a key out unless asked to create them', async () => {
    await store.keys(['known'], true);
    const found = await store.keys(['known', 'unknown'], false);
    expect([...found.keys()]).toEqual(['known']);
    expect(await store.keys(['unknown'], false)).toEqual(new Map());
    expect(await store.keys([], true)).toEqual(new Map());
  });

  it('gives instances creating the same subjects at once the same keys, all of them', async () => {
    const instances = [store, subject.another(), subject.another()];
    for (let round = 0; round < 30; round += 1) {
      const refs = [`r${round}-a`, `r${round}-b`, `r${round}-c`];
      // Each asks in another order, or for a subset: every subject is contested.
      const asked = [refs, [...refs].reverse(), refs.slice(1)];
      const results = await Promise.all(
        instances.map((instance, i) => instance.keys(asked[i]!, true)),
      );
      results.forEach((result, i) => {
        expect([...result.keys()].sort()).toEqual([...asked[i]!].sort());
        for (const ref of asked[i]!) {
          expect(liveKey(result, ref).equals(liveKey(results[0]!, ref))).toBe(true);
        }
      });
    }
  });

  it('erases a key to a tombstone, keeps the first erasedAt, and tombstones unknown subjects', async () => {
    await store.keys(['gone', 'kept'], true);
    expect(await store.erase('gone', '2026-03-01T10:00:00.000Z')).toEqual({
      erasedAt: '2026-03-01T10:00:00.000Z',
    });
    expect(await store.erase('gone', '2026-04-01T10:00:00.000Z')).toEqual({
      erasedAt: '2026-03-01T10:00:00.000Z',
    });
    const found = await store.keys(['gone', 'kept'], false);
    expect(found.get('gone')).toEqual({ state: 'erased', erasedAt: '2026-03-01T10:00:00.000Z' });
    expect(found.get('kept')?.state).toBe('live');

    expect(await store.erase('never-seen', '2026-03-02T00:00:00+08:00')).toEqual({
      erasedAt: '2026-03-02T00:00:00+08:00',
    });
    expect(await subject.another().keys(['never-seen'], false)).toEqual(
      new Map([['never-seen', { state: 'erased', erasedAt: '2026-03-02T00:00:00+08:00' }]]),
    );
  });

  it('never gives an erased subject a new key, whoever asks', async () => {
    await store.keys(['gone'], true);
    await store.erase('gone', '2026-03-01T10:00:00.000Z');
    await store.erase('unknown', '2026-03-01T11:00:00.000Z');
    for (const instance of [store, subject.another()]) {
      const found = await instance.keys(['gone', 'unknown', 'fresh'], true);
      expect(found.get('gone')).toEqual({ state: 'erased', erasedAt: '2026-03-01T10:00:00.000Z' });
      expect(found.get('unknown')).toEqual({
        state: 'erased',
        erasedAt: '2026-03-01T11:00:00.000Z',
      });
      expect(found.get('fresh')?.state).toBe('live');
    }
  });

  it('keeps no copy of an erased key once purged, though it held one before', async () => {
    const key = liveKey(await store.keys(['other-1', 'gone', 'other-2'], true), 'gone');
    // The probe must be able to fail: the key is somewhere in the storage while it lives ...
    expect(await subject.traces([key])).not.toEqual([]);
    await store.erase('gone', '2026-03-01T10:00:00.000Z');
    // ... and still after the erasure, in the WAL (SQLite) or a dead row version (PostgreSQL).
    expect(await subject.traces([key])).not.toEqual([]);
    await purgeUntilGone(store, () => subject.traces([key]));
    expect(await subject.traces([key])).toEqual([]);
    // The others are untouched.
    expect((await store.keys(['other-1', 'other-2'], false)).size).toBe(2);
  });

  it('keeps no copy of any of many erased keys once purged, wherever their rows were', async () => {
    // Pages full of keys: a tombstone that does not fit its page is written to another, and the
    // dead key it leaves can sit where no live row is moved over it.
    const refs = Array.from({ length: 300 }, (_, i) => `subject-${String(i).padStart(3, '0')}`);
    const created = await store.keys(refs, true);
    const erased = refs.filter((_, i) => i % 3 !== 0);
    for (const ref of erased) await store.erase(ref, '2026-03-01T10:00:00.000Z');
    const keys = erased.map((ref) => liveKey(created, ref));
    expect(await subject.traces(keys)).not.toEqual([]);
    await purgeUntilGone(store, () => subject.traces(keys));
    expect(await subject.traces(keys)).toEqual([]);
    const kept = await store.keys(refs, false);
    expect([...kept.values()].filter((key) => key.state === 'live')).toHaveLength(100);
  });

  it('reports failures as rejected promises once closed', async () => {
    await store.close();
    await expect(store.keys(['a'], false)).rejects.toBeInstanceOf(Error);
    await expect(store.keys(['a'], true)).rejects.toBeInstanceOf(Error);
    await expect(store.erase('a', '2026-03-01T10:00:00.000Z')).rejects.toBeInstanceOf(Error);
    await expect(store.ping()).rejects.toBeInstanceOf(Error);
    // afterEach closes every instance again: make that a no-op for this one.
    subject = { ...subject, dispose: () => Promise.resolve() };
  });
});

describe.each(subjects)('SubjectKeyStore copy (encrypt-log): %s', (_name, open) => {
  let from: Subject;
  let into: Subject;
  beforeEach(async () => {
    from = await open();
    into = await open();
  });
  afterEach(async () => {
    await from.dispose();
    await into.dispose();
  });

  it('reads nothing from a store never used, and makes no secret by asking', async () => {
    expect(await from.store.existingPseudonymSecret()).toBeUndefined();
    expect(await from.store.readEntries('', 10)).toEqual([]);
    expect(await from.another().existingPseudonymSecret()).toBeUndefined();
  });

  it('copies the secret, every key and every tombstone, paged in subject order', async () => {
    const secret = await from.store.pseudonymSecret();
    const created = await from.store.keys(['bb', 'aa', 'dd'], true);
    await from.store.erase('cc', '2026-03-01T10:00:00.000Z');
    await from.store.erase('dd', '2026-03-02T10:00:00.000Z');
    expect((await from.store.existingPseudonymSecret())?.equals(secret)).toBe(true);

    const first = await from.store.readEntries('', 3);
    expect(first.map((entry) => entry.subjectRef)).toEqual(['aa', 'bb', 'cc']);
    const rest = await from.store.readEntries('cc', 3);
    expect(rest).toEqual([
      { subjectRef: 'dd', key: { state: 'erased', erasedAt: '2026-03-02T10:00:00.000Z' } },
    ]);
    expect(first[0]).toEqual({ subjectRef: 'aa', key: created.get('aa') });

    await into.store.adoptPseudonymSecret(secret);
    await into.store.importEntries([...first, ...rest]);
    const reopened = await into.reopen();
    expect((await reopened.pseudonymSecret()).equals(secret)).toBe(true);
    expect(await reopened.keys(['aa', 'bb', 'cc', 'dd'], true)).toEqual(
      await from.store.keys(['aa', 'bb', 'cc', 'dd'], false),
    );
    // Copying the same again changes nothing.
    await reopened.adoptPseudonymSecret(secret);
    await reopened.importEntries(first);
    expect(await reopened.readEntries('', 10)).toEqual([...first, ...rest]);
  });

  it('never replaces a key, a tombstone or the secret of the store copied into', async () => {
    await into.store.keys(['aa'], true);
    await into.store.erase('cc', '2026-03-01T10:00:00.000Z');
    const live = { state: 'live', key: Buffer.alloc(32, 7) } as const;
    await expect(into.store.importEntries([{ subjectRef: 'aa', key: live }])).rejects.toThrow(
      SubjectKeyConflictError,
    );
    await expect(into.store.importEntries([{ subjectRef: 'cc', key: live }])).rejects.toThrow(
      SubjectKeyConflictError,
    );
    await expect(
      into.store.importEntries([
        { subjectRef: 'cc', key: { state: 'erased', erasedAt: '2026-04-01T00:00:00.000Z' } },
      ]),
    ).rejects.toThrow(SubjectKeyConflictError);
    expect((await into.store.keys(['cc'], false)).get('cc')).toEqual({
      state: 'erased',
      erasedAt: '2026-03-01T10:00:00.000Z',
    });
    const secret = await into.store.pseudonymSecret();
    await expect(into.store.adoptPseudonymSecret(Buffer.alloc(32, 1))).rejects.toThrow(
      SubjectKeyConflictError,
    );
    await expect(into.store.adoptPseudonymSecret(Buffer.alloc(16, 1))).rejects.toThrow(TypeError);
    expect((await into.another().pseudonymSecret()).equals(secret)).toBe(true);
  });
});

describe('PostgresSubjectKeyStore: a dead key no live row is moved over', () => {
  it('is gone from the table file once purged', async () => {
    const url = await freshSchemaUrl();
    const store = new PostgresSubjectKeyStore(url);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const refs = Array.from({ length: 300 }, (_, i) => `subject-${String(i).padStart(3, '0')}`);
      const created = await store.keys(refs, true);
      // The last row written to the full first page: its tombstone cannot stay on that page,
      // and a plain VACUUM leaves its bytes where they were, in the page's free space.
      const { rows } = await client.query<{ subject_ref: string }>(
        `SELECT subject_ref FROM subject_keys WHERE (ctid::text::point)[0] = 0
          ORDER BY (ctid::text::point)[1] DESC LIMIT 1`,
      );
      const ref = rows[0]!.subject_ref;
      const key = created.get(ref);
      if (key?.state !== 'live') throw new Error(`${ref} has no live key`);
      await store.erase(ref, '2026-03-01T10:00:00.000Z');
      const { rows: moved } = await client.query<{ page: number }>(
        'SELECT (ctid::text::point)[0] AS page FROM subject_keys WHERE subject_ref = $1',
        [ref],
      );
      expect(moved[0]!.page).not.toBe(0);
      expect(placesHolding(await storedCopies(url, 'subject_keys'), [key.key])).toEqual(['heap']);
      await purgeUntilGone(store, async () =>
        placesHolding(await storedCopies(url, 'subject_keys'), [key.key]),
      );
      expect(placesHolding(await storedCopies(url, 'subject_keys'), [key.key])).toEqual([]);
    } finally {
      await client.end();
      await store.close();
    }
  });
});
