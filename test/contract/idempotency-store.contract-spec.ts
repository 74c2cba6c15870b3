import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IdempotencyStore } from '../../src/http/idempotency/idempotency-store';
import { PostgresIdempotencyStore } from '../../src/http/idempotency/postgres-idempotency-store';
import { SqliteIdempotencyStore } from '../../src/http/idempotency/sqlite-idempotency-store';
import { freshSchemaUrl } from '../support/postgres';

/** A store, and more instances over the same storage (as several processes would open it). */
type Subject = {
  store: IdempotencyStore;
  another: () => IdempotencyStore;
  dispose: () => Promise<void>;
};

const subjects: Array<[string, () => Promise<Subject>]> = [
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'idem-'));
      const opened: IdempotencyStore[] = [];
      const another = () => {
        opened.push(new SqliteIdempotencyStore(join(dir, 'requests.sqlite')));
        return opened[opened.length - 1]!;
      };
      return Promise.resolve({
        store: another(),
        another,
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
      const opened: IdempotencyStore[] = [];
      const another = () => {
        opened.push(new PostgresIdempotencyStore(url));
        return opened[opened.length - 1]!;
      };
      return {
        store: another(),
        another,
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

  it('reports a failure as a rejected promise, never a throw', async () => {
    await subject.dispose();
    const calls = [
      () => store.begin('scope', 'k1', 'h1'),
      () => store.complete('scope', 'k1', 200, {}),
      () => store.release('scope', 'k1'),
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
