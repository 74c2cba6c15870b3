import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEvent } from '../../test/support/events';
import {
  FaultyReadModelStore,
  refusalError,
  withFailingSubscriptions,
} from '../../test/support/faults';
import type { RecordedEvent } from '../event-sourcing';
import { SqliteReadModelStore } from '../stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import type { Projection } from './projection';
import { ProjectionRunner } from './projection-runner';

// Counts events per stream; throws on a 'Poison' event, to exercise dead letters.
const counter: Projection<{ count: number; total: number }> = {
  name: 'counter',
  version: 1,
  keysOf: (event: RecordedEvent) => [event.streamName],
  evolve: (doc, event) => {
    if (event.type === 'Poison') throw new Error('cannot digest this');
    return { count: (doc?.count ?? 0) + 1, total: (doc?.total ?? 0) + Number(event.data.n ?? 0) };
  },
  indexOf: (doc) => ({ count: doc.count }),
};

/** Resolves once `condition` holds; fails after `timeoutMs` (generous: the machine may be loaded). */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// Quick retries, so that tests of several failures stay short.
const QUICK = { retryDelayMs: 5, maxRetryDelayMs: 50 };

describe('ProjectionRunner', () => {
  let dir: string;
  let events: SqliteEventStore;
  let readModels: SqliteReadModelStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'runner-'));
    events = new SqliteEventStore({ fileName: join(dir, 'events.sqlite'), pollIntervalMs: 20 });
    readModels = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
  });
  afterEach(async () => {
    await events.close();
    await readModels.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('catches up, stays live, and answers waitFor once a position is applied', async () => {
    for (let i = 0; i < 30; i += 1)
      await events.append(`s-${i % 3}`, [testEvent('Counted', { n: 1 })]);
    const runner = new ProjectionRunner(events, readModels, [counter], { batchSize: 7 });
    await runner.start();
    const { position } = await events.append('s-0', [testEvent('Counted', { n: 10 })]);
    expect(await runner.waitFor(position, 5000)).toBe(true);
    expect(await readModels.get('counter', 's-0')).toEqual({ count: 11, total: 20 });
    expect(await runner.waitFor(position + 5, 50)).toBe(false);
    await runner.stop();
  });

  it('applies every event exactly once across a restart', async () => {
    const first = new ProjectionRunner(events, readModels, [counter]);
    await first.start();
    for (let i = 0; i < 20; i += 1) await events.append('s-1', [testEvent('Counted', { n: 1 })]);
    expect(await first.waitFor(20, 5000)).toBe(true);
    await first.stop();
    for (let i = 0; i < 5; i += 1) await events.append('s-1', [testEvent('Counted', { n: 1 })]);
    const second = new ProjectionRunner(events, readModels, [counter]);
    await second.start();
    expect(await second.waitFor(25, 5000)).toBe(true);
    expect(await readModels.get('counter', 's-1')).toEqual({ count: 25, total: 25 });
    expect((await readModels.activeGeneration('counter'))?.position).toBe(25);
    await second.stop();
  });

  it('sets a poison event aside as a dead letter, with none of its effects, and goes on', async () => {
    await events.append('s-1', [testEvent('Counted', { n: 1 })]);
    await events.append('s-1', [testEvent('Poison', {})]);
    const { position } = await events.append('s-1', [testEvent('Counted', { n: 1 })]);
    const runner = new ProjectionRunner(events, readModels, [counter]);
    await runner.start();
    expect(await runner.waitFor(position, 5000)).toBe(true);
    expect(await readModels.get('counter', 's-1')).toEqual({ count: 2, total: 2 });
    expect(await readModels.deadLetters()).toEqual([
      expect.objectContaining({
        projection: 'counter',
        position: 2,
        eventType: 'Poison',
        error: 'cannot digest this',
      }),
    ]);
    await runner.stop();
  });

  it('rebuilds a read model whose projection changed version, while the old one serves', async () => {
    for (let i = 0; i < 10; i += 1) await events.append('s-1', [testEvent('Counted', { n: 1 })]);
    const first = new ProjectionRunner(events, readModels, [counter]);
    await first.start();
    expect(await first.waitFor(10, 5000)).toBe(true);
    await first.stop();
    const doubled: typeof counter = {
      ...counter,
      version: 2,
      evolve: (doc, event) => ({
        count: (doc?.count ?? 0) + 1,
        total: (doc?.total ?? 0) + 2 * Number(event.data.n),
      }),
    };
    const second = new ProjectionRunner(events, readModels, [doubled]);
    await second.start();
    for (
      let attempt = 0;
      attempt < 100 && (await readModels.activeGeneration('counter'))?.version !== 2;
      attempt += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await readModels.activeGeneration('counter')).toMatchObject({
      generation: 2,
      version: 2,
    });
    expect(await readModels.get('counter', 's-1')).toEqual({ count: 10, total: 20 });
    const { position } = await events.append('s-1', [testEvent('Counted', { n: 1 })]);
    expect(await second.waitFor(position, 5000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await readModels.get('counter', 's-1')).toEqual({ count: 11, total: 22 });
    expect(second.error).toBeUndefined();
    await second.stop();
  });

  describe('failures', () => {
    let faulty: FaultyReadModelStore;
    // Every runner made here is stopped before the stores close, even after a failed assertion:
    // a runner left going would retry against closed stores for ever.
    const runners: ProjectionRunner[] = [];
    const runnerOf = (...args: ConstructorParameters<typeof ProjectionRunner>) => {
      const runner = new ProjectionRunner(...args);
      runners.push(runner);
      return runner;
    };
    beforeEach(() => {
      faulty = new FaultyReadModelStore(readModels);
    });
    afterEach(async () => {
      await Promise.all(runners.splice(0).map((runner) => runner.stop()));
    });

    it('retries a commit that fails transiently until it lands, once, and says so meanwhile', async () => {
      for (let i = 0; i < 12; i += 1)
        await events.append(`s-${i % 3}`, [testEvent('Counted', { n: 1 })]);
      const runner = runnerOf(events, faulty, [counter], QUICK);
      const attemptsSeen: Array<number | undefined> = [];
      let left = 3;
      faulty.fault = () => {
        attemptsSeen.push(runner.status().get('counter')?.retrying?.attempts);
        if (left === 0) return undefined;
        left -= 1;
        return Object.assign(new Error('Connection terminated unexpectedly'), {});
      };
      await runner.start();
      expect(await runner.waitFor(12, 20_000)).toBe(true);
      expect(attemptsSeen).toEqual([undefined, 1, 2, 3]);
      expect(faulty.failed).toBe(3);
      expect(runner.retries().get('counter')).toBe(3);
      for (const stream of ['s-0', 's-1', 's-2'])
        expect(await readModels.get('counter', stream)).toEqual({ count: 4, total: 4 });
      expect(await readModels.deadLetters()).toEqual([]);
      expect((await readModels.activeGeneration('counter'))?.position).toBe(12);
      expect(runner.status().get('counter')).toEqual({ position: 12, leading: true });
      expect(runner.error).toBeUndefined();
      await runner.stop();
    });

    it('opens a subscription that failed again from the stored checkpoint', async () => {
      for (let i = 0; i < 5; i += 1) await events.append('s-1', [testEvent('Counted', { n: 1 })]);
      const first = runnerOf(events, readModels, [counter]);
      await first.start();
      expect(await first.waitFor(5, 20_000)).toBe(true);
      await first.stop();
      for (let i = 0; i < 3; i += 1) await events.append('s-1', [testEvent('Counted', { n: 1 })]);
      const flaky = withFailingSubscriptions(events, 2);
      const runner = runnerOf(flaky, readModels, [counter], QUICK);
      await runner.start();
      expect(await runner.waitFor(8, 20_000)).toBe(true);
      expect(flaky.opened).toEqual([5, 5, 5]);
      expect(await readModels.get('counter', 's-1')).toEqual({ count: 8, total: 8 });
      expect(runner.retries().get('counter')).toBe(2);
      expect(runner.status().get('counter')?.retrying).toBeUndefined();
      await runner.stop();
    });

    it('sets aside the one event of a batch whose documents the store refuses, applies the rest, and goes on', async () => {
      // The store refuses any document holding the 1000 that event 17 adds.
      faulty.fault = (commit) =>
        commit.writes.some((write) => (write.doc as { total: number }).total >= 1000)
          ? refusalError()
          : undefined;
      for (let i = 1; i <= 40; i += 1)
        await events.append(`s-${i % 4}`, [testEvent('Counted', { n: i === 17 ? 1000 : 1 })]);
      const runner = runnerOf(events, faulty, [counter], {
        ...QUICK,
        batchSize: 100,
      });
      await runner.start();
      expect(await runner.waitFor(40, 20_000)).toBe(true);
      expect(await readModels.deadLetters()).toEqual([
        expect.objectContaining({
          projection: 'counter',
          position: 17,
          streamName: 's-1',
          error: 'read-model store refused: 22P05 unsupported Unicode escape sequence',
        }),
      ]);
      // s-1 had 10 events; the refused one left no trace.
      expect(await readModels.get('counter', 's-1')).toEqual({ count: 9, total: 9 });
      for (const stream of ['s-0', 's-2', 's-3'])
        expect(await readModels.get('counter', stream)).toEqual({ count: 10, total: 10 });
      // Halving a batch of 40 finds the event in a handful of refused commits, not 40.
      expect(faulty.failed).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(40)) + 1);
      const { position } = await events.append('s-1', [testEvent('Counted', { n: 1 })]);
      expect(await runner.waitFor(position, 20_000)).toBe(true);
      expect(await readModels.get('counter', 's-1')).toEqual({ count: 10, total: 10 });
      expect(await readModels.countDeadLetters()).toEqual(new Map([['counter', 1]]));
      expect(runner.status().get('counter')).toEqual({ position: 41, leading: true });
      expect(runner.error).toBeUndefined();
      await runner.stop();
    });

    it('when even the dead letter is refused, reports the failure and tries again until the store takes it', async () => {
      let broken = true;
      faulty.fault = () => (broken ? refusalError() : undefined);
      await events.append('s-1', [testEvent('Counted', { n: 1 })]);
      const runner = runnerOf(events, faulty, [counter], QUICK);
      await runner.start();
      await until(() => runner.error !== undefined);
      expect(runner.status().get('counter')?.retrying).toMatchObject({
        kind: 'permanent',
        lastError: '22P05 unsupported Unicode escape sequence',
      });
      broken = false;
      expect(await runner.waitFor(1, 20_000)).toBe(true);
      expect(await readModels.get('counter', 's-1')).toEqual({ count: 1, total: 1 });
      expect(runner.error).toBeUndefined();
      expect(runner.status().get('counter')?.retrying).toBeUndefined();
      await runner.stop();
    });

    it('sets nothing aside when no commit could pass (a table gone): it reports the failure until the store is back', async () => {
      let broken = true;
      faulty.fault = () =>
        broken
          ? Object.assign(new Error('no such table: rm_documents'), { code: 'SQLITE_ERROR' })
          : undefined;
      for (let i = 0; i < 5; i += 1) await events.append('s-1', [testEvent('Counted', { n: 1 })]);
      const runner = runnerOf(events, faulty, [counter], QUICK);
      await runner.start();
      await until(() => runner.error !== undefined);
      expect(runner.status().get('counter')?.retrying).toMatchObject({ kind: 'permanent' });
      broken = false;
      expect(await runner.waitFor(5, 20_000)).toBe(true);
      expect(await readModels.deadLetters()).toEqual([]);
      expect(await readModels.get('counter', 's-1')).toEqual({ count: 5, total: 5 });
    });

    it('stops at once while waiting to retry', async () => {
      faulty.fault = () => Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' });
      await events.append('s-1', [testEvent('Counted', { n: 1 })]);
      const runner = runnerOf(events, faulty, [counter], {
        retryDelayMs: 120_000,
        maxRetryDelayMs: 120_000,
      });
      await runner.start();
      await until(() => faulty.failed > 0);
      const stopping = Date.now();
      await runner.stop();
      // Far below the two minutes it would otherwise wait.
      expect(Date.now() - stopping).toBeLessThan(30_000);
      expect((await readModels.activeGeneration('counter'))?.position).toBe(0);
    });

    it('two runners on one store apply each event once: each goes on from where the other committed', async () => {
      const a = runnerOf(events, readModels, [counter], { ...QUICK, batchSize: 3 });
      const b = runnerOf(events, readModels, [counter], { ...QUICK, batchSize: 5 });
      await a.start();
      await b.start();
      for (let i = 0; i < 30; i += 1) await events.append('s-1', [testEvent('Counted', { n: 1 })]);
      expect(await a.waitFor(30, 20_000)).toBe(true);
      expect(await b.waitFor(30, 20_000)).toBe(true);
      expect(await readModels.get('counter', 's-1')).toEqual({ count: 30, total: 30 });
      expect(a.error ?? b.error).toBeUndefined();
      await a.stop();
      await b.stop();
    });
  });
});
