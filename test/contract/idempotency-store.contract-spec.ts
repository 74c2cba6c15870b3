import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type {
  IdempotencyStore,
  IdempotencyStoreOptions,
} from '../../src/http/idempotency/idempotency-store';
import { PostgresIdempotencyStore } from '../../src/http/idempotency/postgres-idempotency-store';
import { SqliteIdempotencyStore } from '../../src/http/idempotency/sqlite-idempotency-store';
import { FixedClock } from '../../src/shared/clock';
import { freshSchemaUrl, storedCopies } from '../support/postgres';
import { filesIn, placesHolding, purgeUntilGone } from '../support/traces';

/** Records live an hour here, on a clock the tests move. */
const TTL_SECONDS = 3600;
const START = new Date('2026-03-01T10:00:00.000Z');

/** A store, and more instances over the same storage (as several processes would open it). */
type Subject = {
  store: IdempotencyStore;
  another: () => IdempotencyStore;
  /** The clock of every instance. */
  clock: FixedClock;
  /** Where the storage still holds this text (file names; `pg_dump`, `heap`): none, ideally. */
  traces: (text: string) => Promise<string[]>;
  /**
   * A store opened over storage the previous version of the app wrote (schema version 1, an
   * answered key `old` in scope `scope` for request hash `h1`).
   */
  openPrevious: () => Promise<IdempotencyStore>;
  dispose: () => Promise<void>;
};

/** The schema of version 1, as the previous version of each adapter made it. */
const V1_SQLITE = `CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
  status INTEGER, body TEXT, created_at TEXT NOT NULL, PRIMARY KEY (scope, key))`;
const V1_POSTGRES = `
CREATE TABLE idempotency_schema_version (id SMALLINT PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO idempotency_schema_version VALUES (1, 1);
CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
  status INTEGER, body TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (scope, key))`;

const subjects: Array<[string, () => Promise<Subject>]> = [
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'idem-'));
      const clock = new FixedClock(START);
      const options: IdempotencyStoreOptions = { ttlSeconds: TTL_SECONDS, clock };
      const opened: IdempotencyStore[] = [];
      const open = (fileName: string) => {
        opened.push(new SqliteIdempotencyStore(fileName, options));
        return opened[opened.length - 1]!;
      };
      const another = () => open(join(dir, 'requests.sqlite'));
      return Promise.resolve({
        store: another(),
        another,
        clock,
        traces: (text) => Promise.resolve(placesHolding(filesIn(dir), [text])),
        openPrevious: () => {
          const fileName = join(dir, 'previous.sqlite');
          const db = new Database(fileName);
          db.pragma('journal_mode = WAL');
          db.exec(V1_SQLITE);
          db.pragma('user_version = 1');
          db.prepare(
            "INSERT INTO idempotency_keys VALUES ('scope', 'old', 'h1', 201, '{\"id\":\"x\"}', ?)",
          ).run(START.toISOString());
          db.close();
          return Promise.resolve(open(fileName));
        },
        dispose: async () => {
          for (const store of opened) await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  ],
  [
    'postgres',
    async () => {
      const url = await freshSchemaUrl();
      const clock = new FixedClock(START);
      const options: IdempotencyStoreOptions = { ttlSeconds: TTL_SECONDS, clock };
      const opened: IdempotencyStore[] = [];
      const open = (at: string) => {
        opened.push(new PostgresIdempotencyStore(at, options));
        return opened[opened.length - 1]!;
      };
      const another = () => open(url);
      return {
        store: another(),
        another,
        clock,
        traces: async (text) => placesHolding(await storedCopies(url, 'idempotency_keys'), [text]),
        openPrevious: async () => {
          const previous = await freshSchemaUrl();
          const client = new Client({ connectionString: previous });
          await client.connect();
          await client.query(V1_POSTGRES);
          await client.query(
            `INSERT INTO idempotency_keys VALUES ('scope', 'old', 'h1', 201, '{"id":"x"}', $1)`,
            [START],
          );
          await client.end();
          return open(previous);
        },
        dispose: async () => {
          for (const store of opened) await store.close();
        },
      };
    },
  ],
];

describe.each(subjects)('IdempotencyStore contract: %s', (_name, open) => {
  let subject: Subject;
  let store: IdempotencyStore;
  beforeEach(async () => {
    subject = await open();
    store = subject.store;
  });
  afterEach(() => subject.dispose());

  it('claims a new key once; while its request runs, the key is in progress', async () => {
    expect(await store.begin('alice POST /v1/things', 'k1', 'h1')).toEqual({ state: 'new' });
    expect(await store.begin('alice POST /v1/things', 'k1', 'h1')).toEqual({
      state: 'in_progress',
    });
  });

  it('repeats the recorded answer for the same body, and refuses another body', async () => {
    await store.begin('scope', 'k1', 'h1');
    await store.complete('scope', 'k1', 201, { id: 'thing-1', tags: ['a'], note: null });
    expect(await store.begin('scope', 'k1', 'h1')).toEqual({
      state: 'done',
      status: 201,
      body: { id: 'thing-1', tags: ['a'], note: null },
    });
    expect(await store.begin('scope', 'k1', 'h2')).toEqual({ state: 'mismatch' });
    // A body of nothing (204) comes back as null.
    await store.begin('scope', 'k2', 'h1');
    await store.complete('scope', 'k2', 204, undefined);
    expect(await store.begin('scope', 'k2', 'h1')).toEqual({
      state: 'done',
      status: 204,
      body: null,
    });
  });

  it('refuses another body while the first request is still in progress', async () => {
    await store.begin('scope', 'k1', 'h1');
    expect(await store.begin('scope', 'k1', 'h2')).toEqual({ state: 'mismatch' });
  });

  it('keeps keys apart per scope', async () => {
    expect(await store.begin('alice POST /v1/things', 'k1', 'h1')).toEqual({ state: 'new' });
    expect(await store.begin('bob POST /v1/things', 'k1', 'h1')).toEqual({ state: 'new' });
  });

  it('frees a released key for the next request, with any body; an answered key stays', async () => {
    await store.begin('scope', 'k1', 'h1');
    await store.release('scope', 'k1');
    expect(await store.begin('scope', 'k1', 'h2')).toEqual({ state: 'new' });
    await store.complete('scope', 'k1', 200, { ok: true });
    await store.release('scope', 'k1');
    expect(await store.begin('scope', 'k1', 'h2')).toEqual({
      state: 'done',
      status: 200,
      body: { ok: true },
    });
  });

  it('lets exactly one of many concurrent requests with one key claim it', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => store.begin('scope', 'same', 'h1')),
    );
    expect(outcomes.filter((outcome) => outcome.state === 'new')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.state === 'in_progress')).toHaveLength(19);
  });

  it('lets instances that start together share the keys, one claim among them', async () => {
    const instances = [subject.another(), subject.another(), subject.another()];
    const outcomes = await Promise.all(
      instances.map((instance) => instance.begin('scope', 'shared', 'h1')),
    );
    expect(outcomes.map((outcome) => outcome.state).sort()).toEqual([
      'in_progress',
      'in_progress',
      'new',
    ]);
  });

  it('answers a request that races a release without failing', async () => {
    for (let round = 0; round < 30; round += 1) {
      const key = `k${round}`;
      await store.begin('scope', key, 'h1');
      const [, ...outcomes] = await Promise.all([
        store.release('scope', key),
        store.begin('scope', key, 'h1'),
        store.begin('scope', key, 'h1'),
      ]);
      for (const outcome of outcomes) expect(['new', 'in_progress']).toContain(outcome.state);
      // After the release at most one of them holds the key.
      expect(outcomes.filter((outcome) => outcome.state === 'new').length).toBeLessThanOrEqual(1);
    }
  });

  /** Moves every instance's clock this many milliseconds on from START. */
  const at = (ms: number) => subject.clock.set(new Date(START.getTime() + ms));
  const TTL_MS = TTL_SECONDS * 1000;

  it('remembers an answer for the TTL; after it the key is new again, for any body', async () => {
    await store.begin('scope', 'k1', 'h1');
    await store.complete('scope', 'k1', 201, { id: 'thing-1' });
    at(TTL_MS);
    expect(await store.begin('scope', 'k1', 'h1')).toEqual({
      state: 'done',
      status: 201,
      body: { id: 'thing-1' },
    });
    at(TTL_MS + 1);
    // Another body would be a mismatch within the TTL: after it, the key is taken over.
    expect(await store.begin('scope', 'k1', 'h2')).toEqual({ state: 'new' });
    expect(await subject.another().begin('scope', 'k1', 'h2')).toEqual({ state: 'in_progress' });
    await store.complete('scope', 'k1', 200, { id: 'thing-2' });
    expect(await store.begin('scope', 'k1', 'h2')).toEqual({
      state: 'done',
      status: 200,
      body: { id: 'thing-2' },
    });
  });

  it('frees a claim whose request never answered once the TTL has passed', async () => {
    await store.begin('scope', 'stuck', 'h1');
    at(TTL_MS + 1);
    expect(await store.begin('scope', 'stuck', 'h1')).toEqual({ state: 'new' });
  });

  it('lets one of many instances take over an expired key', async () => {
    await store.begin('scope', 'k1', 'h1');
    await store.complete('scope', 'k1', 201, {});
    at(TTL_MS + 1);
    const outcomes = await Promise.all(
      [store, subject.another(), subject.another()].map((instance) =>
        instance.begin('scope', 'k1', 'h2'),
      ),
    );
    expect(outcomes.map((outcome) => outcome.state).sort()).toEqual([
      'in_progress',
      'in_progress',
      'new',
    ]);
  });

  it('deletes expired records on a later begin, at most once a minute', async () => {
    await store.begin('scope', 'a', 'h1', 'subject-1'); // the first begin sweeps (nothing yet)
    at(30_000);
    await store.begin('scope', 'c', 'h1', 'subject-1'); // within the minute: no sweep
    at(TTL_MS + 1_000);
    await store.begin('scope', 'b', 'h1'); // sweeps: a has expired, c not yet
    at(TTL_MS + 31_000);
    await store.begin('scope', 'd', 'h1'); // c has expired, but the last sweep was 30 s ago
    expect(await store.deleteSubject('subject-1')).toBe(1);
  });

  it('deletes the records of one data subject only, in every scope', async () => {
    await store.begin('ada POST /v1/applications', 'k1', 'h1', 'subject-ada');
    await store.complete('ada POST /v1/applications', 'k1', 201, { name: 'Ada' });
    await store.begin('ada POST /v1/activities', 'k1', 'h1', 'subject-ada');
    await store.begin('bob POST /v1/applications', 'k1', 'h1', 'subject-bob');
    await store.complete('bob POST /v1/applications', 'k1', 201, { name: 'Bob' });
    await store.begin('staff POST /v1/recommendations', 'k1', 'h1');
    await store.complete('staff POST /v1/recommendations', 'k1', 200, { ok: true });

    expect(await subject.another().deleteSubject('subject-ada')).toBe(2);
    expect(await store.deleteSubject('subject-ada')).toBe(0);
    expect(await store.deleteSubject('nobody')).toBe(0);
    expect(await store.begin('ada POST /v1/applications', 'k1', 'h2')).toEqual({ state: 'new' });
    expect(await store.begin('ada POST /v1/activities', 'k1', 'h2')).toEqual({ state: 'new' });
    expect(await store.begin('bob POST /v1/applications', 'k1', 'h1')).toMatchObject({
      state: 'done',
      body: { name: 'Bob' },
    });
    expect(await store.begin('staff POST /v1/recommendations', 'k1', 'h1')).toMatchObject({
      state: 'done',
      body: { ok: true },
    });
  });

  it("keeps no copy of a deleted subject's answer once purged, though it held one before", async () => {
    const name = `Ada Lovelace ${randomBytes(8).toString('hex')}`;
    await store.begin('ada POST /v1/applications', 'k1', 'h1', 'subject-ada');
    await store.complete('ada POST /v1/applications', 'k1', 201, { name });
    await store.begin('bob POST /v1/applications', 'k1', 'h1', 'subject-bob');
    await store.complete('bob POST /v1/applications', 'k1', 201, { name: 'Bob' });
    // The probe must be able to fail: the answer is in the storage while it is kept ...
    expect(await subject.traces(name)).not.toEqual([]);
    await store.deleteSubject('subject-ada');
    await purgeUntilGone(store, () => subject.traces(name));
    // ... and nowhere once deleted and purged; the other subject's answer stays.
    expect(await subject.traces(name)).toEqual([]);
    expect(await store.begin('bob POST /v1/applications', 'k1', 'h1')).toMatchObject({
      state: 'done',
    });
  });

  it('opens storage of the previous version, keeping its keys and adding subjects', async () => {
    const previous = await subject.openPrevious();
    expect(await previous.begin('scope', 'old', 'h1')).toEqual({
      state: 'done',
      status: 201,
      body: { id: 'x' },
    });
    expect(await previous.begin('scope', 'new', 'h1', 'subject-1')).toEqual({ state: 'new' });
    expect(await previous.deleteSubject('subject-1')).toBe(1);
    at(TTL_MS + 1);
    expect(await previous.begin('scope', 'old', 'h2')).toEqual({ state: 'new' });
  });

  it('reports a failure as a rejected promise, never a throw', async () => {
    await subject.dispose();
    const calls = [
      () => store.begin('scope', 'k1', 'h1'),
      () => store.complete('scope', 'k1', 200, {}),
      () => store.release('scope', 'k1'),
      () => store.deleteSubject('s1'),
      () => store.purgeDeleted(),
    ];
    for (const call of calls) {
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = call();
      }).not.toThrow();
      await expect(result).rejects.toBeInstanceOf(Error);
    }
    // afterEach disposes again: make that a no-op.
    subject = { ...subject, dispose: () => Promise.resolve() };
  });
});
