import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { SubjectKey, SubjectKeyStore } from '../../src/event-sourcing/personal-data/key-store';
import { PostgresSubjectKeyStore } from '../../src/stores/keys/postgres-subject-key-store';
import { SqliteSubjectKeyStore } from '../../src/stores/keys/sqlite-subject-key-store';
import { freshSchemaUrl } from '../support/postgres';

const run = promisify(execFile);

/** A store, more instances over the same storage, and a look at the raw bytes it stores. */
type Subject = {
  store: SubjectKeyStore;
  /** Another instance over the same file or database, as another process would open it. */
  another: () => SubjectKeyStore;
  /** Closes every instance and opens a new one on the same storage. */
  reopen: () => Promise<SubjectKeyStore>;
  /** Where the storage still holds these bytes (file names; `pg_dump`, `heap`): none, ideally. */
  traces: (bytes: Buffer) => Promise<string[]>;
  dispose: () => Promise<void>;
};

const subjects: Array<[string, () => Promise<Subject>]> = [
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'keys-'));
      let opened: SubjectKeyStore[] = [];
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
        traces: (bytes) =>
          Promise.resolve(
            readdirSync(dir).filter((name) => readFileSync(join(dir, name)).indexOf(bytes) >= 0),
          ),
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
      let opened: SubjectKeyStore[] = [];
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
        traces: async (bytes) => {
          const found: string[] = [];
          if ((await pgDump(url)).includes(bytes.toString('hex'))) found.push('pg_dump');
          if ((await heapFile(url)).indexOf(bytes) >= 0) found.push('heap');
          return found;
        },
        dispose: closeAll,
      };
    },
  ],
];

describe.each(subjects)('SubjectKeyStore contract: %s', (_name, open) => {
  let subject: Subject;
  let store: SubjectKeyStore;
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
    const bytes = liveKey(await store.keys(['other-1', 'gone', 'other-2'], true), 'gone');
    // The probe must be able to fail: the key is somewhere in the storage while it lives ...
    expect(await subject.traces(bytes)).not.toEqual([]);
    await store.erase('gone', '2026-03-01T10:00:00.000Z');
    // ... and still after the erasure, in the WAL (SQLite) or a dead row version (PostgreSQL).
    expect(await subject.traces(bytes)).not.toEqual([]);
    await purgeUntilGone(store, () => subject.traces(bytes));
    expect(await subject.traces(bytes)).toEqual([]);
    // The others are untouched.
    expect((await store.keys(['other-1', 'other-2'], false)).size).toBe(2);
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

/**
 * Purges until the bytes are gone, a few times at most. PostgreSQL's VACUUM cannot remove a row
 * version that a transaction running elsewhere in the run's database (another test file) may
 * still see: the next purge, a moment later, can.
 */
async function purgeUntilGone(store: SubjectKeyStore, traces: () => Promise<string[]>) {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await store.purgeDeleted();
    if ((await traces()).length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The schema a `freshSchemaUrl` points at, from its `-c search_path=...` option. */
function schemaOf(url: string): string {
  const match = /search_path=(\w+)/.exec(new URL(url).searchParams.get('options') ?? '');
  if (!match) throw new Error(`${url} names no schema`);
  return match[1]!;
}

/** A text dump of the schema's tables, as a backup of the database would hold them. */
async function pgDump(url: string): Promise<string> {
  const { hostname, port, username, pathname } = new URL(url);
  const { stdout } = await run(pgDumpBinary(), [
    '-h',
    hostname,
    '-p',
    port || '5432',
    '-U',
    decodeURIComponent(username) || 'postgres',
    '-n',
    schemaOf(url),
    '--data-only',
    pathname.slice(1),
  ]);
  return stdout;
}

/** `pg_dump` on the PATH, or the newest one PostgreSQL's Debian packages install. */
function pgDumpBinary(): string {
  const root = '/usr/lib/postgresql';
  const packaged = existsSync(root)
    ? readdirSync(root)
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => join(root, version, 'bin', 'pg_dump'))
        .find((path) => existsSync(path))
    : undefined;
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .map((dir) => join(dir, 'pg_dump'))
    .find((path) => existsSync(path));
  const binary = onPath ?? packaged;
  if (!binary) throw new Error('pg_dump is needed for this test: install postgresql-client');
  return binary;
}

/**
 * The bytes of `subject_keys`' heap file, as on disk after a checkpoint: where a dead row
 * version would survive an UPDATE until VACUUM. Needs a superuser (the tests run as postgres).
 */
async function heapFile(url: string): Promise<Buffer> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
    const { rows } = await client.query<{ bytes: Buffer }>(
      "SELECT pg_read_binary_file(pg_relation_filepath('subject_keys')) AS bytes",
    );
    return rows[0]!.bytes;
  } finally {
    await client.end();
  }
}
