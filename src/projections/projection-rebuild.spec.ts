import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEvent } from '../../test/support/events';
import type { RecordedEvent } from '../event-sourcing';
import { SqliteReadModelStore } from '../stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import type { Projection } from './projection';
import { rebuildProjection } from './projection-rebuild';
import { ProjectionRunner } from './projection-runner';

const totals: Projection<{ total: number }> = {
  name: 'totals',
  version: 1,
  keysOf: (event: RecordedEvent) => [event.streamName],
  evolve: (doc, event) => ({ total: (doc?.total ?? 0) + Number(event.data.n ?? 0) }),
  indexOf: () => ({}),
};

describe('rebuildProjection', () => {
  let dir: string;
  let events: SqliteEventStore;
  let readModels: SqliteReadModelStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rebuild-'));
    events = new SqliteEventStore({ fileName: join(dir, 'events.sqlite'), pollIntervalMs: 20 });
    readModels = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
  });
  afterEach(async () => {
    await events.close();
    await readModels.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fills a new generation while the old one serves, switches, and the live runner follows', async () => {
    for (let i = 0; i < 50; i += 1)
      await events.append(`s-${i % 5}`, [testEvent('Added', { n: 1 })]);
    const runner = new ProjectionRunner(events, readModels, [totals]);
    await runner.start();
    expect(await runner.waitFor(50, 5000)).toBe(true);
    const seen: number[] = [];
    const result = await rebuildProjection(events, readModels, totals, {
      batchSize: 7,
      onProgress: (progress) => {
        seen.push(progress.position);
      },
    });
    expect(result).toEqual({ generation: 2, position: 50, applied: 50 });
    expect(seen[seen.length - 1]).toBe(50);
    expect(await readModels.get('totals', 's-0')).toEqual({ total: 10 });
    const { position } = await events.append('s-0', [testEvent('Added', { n: 5 })]);
    expect(await runner.waitFor(position, 5000)).toBe(true);
    // The runner moved to generation 2 after its commit to generation 1 failed.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await readModels.get('totals', 's-0')).toEqual({ total: 15 });
    expect((await readModels.activeGeneration('totals'))?.generation).toBe(2);
    expect(runner.error).toBeUndefined();
    await runner.stop();
  });

  it('resumes a rebuild that stopped half-way, leaving the active generation serving meanwhile', async () => {
    for (let i = 0; i < 30; i += 1) await events.append('s-1', [testEvent('Added', { n: 1 })]);
    await readModels.createGeneration('totals', 1, 1);
    await readModels.activate('totals', 1);
    let calls = 0;
    await expect(
      rebuildProjection(events, readModels, totals, {
        batchSize: 10,
        flushEvents: 10,
        onProgress: () => {
          calls += 1;
          if (calls === 3) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect((await readModels.activeGeneration('totals'))?.generation).toBe(1);
    expect((await readModels.generation('totals', 2))?.position).toBe(20);
    const result = await rebuildProjection(events, readModels, totals, { batchSize: 10 });
    expect(result).toEqual({ generation: 2, position: 30, applied: 10 });
    expect(await readModels.get('totals', 's-1')).toEqual({ total: 30 });
  });

  it('commits a rebuild window at once: a stop inside the first window resumes from the start', async () => {
    for (let i = 0; i < 30; i += 1) await events.append('s-1', [testEvent('Added', { n: 1 })]);
    let calls = 0;
    await expect(
      rebuildProjection(events, readModels, totals, {
        batchSize: 10,
        flushEvents: 25,
        onProgress: () => {
          calls += 1;
          if (calls === 3) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    // Two batches (20 events) were applied in memory, below the 25-event window: none landed.
    expect((await readModels.generation('totals', 1))?.position).toBe(0);
    const result = await rebuildProjection(events, readModels, totals, { batchSize: 10 });
    expect(result).toEqual({ generation: 1, position: 30, applied: 30 });
    expect(await readModels.get('totals', 's-1')).toEqual({ total: 30 });
  });
});
