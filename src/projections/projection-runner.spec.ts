import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEvent } from '../../test/support/events';
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
});
