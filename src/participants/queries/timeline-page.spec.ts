import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEvent } from '../../../test/support/events';
import type { Projection } from '../../projections/projection';
import { rebuildProjections } from '../../projections/projection-rebuild';
import { ReadModels } from '../../projections/read-models';
import { encodeCursor, InvalidCursorError } from '../../projections/read-model-store';
import { SqliteReadModelStore } from '../../stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../../stores/sqlite/sqlite-event-store';
import { timelinePage } from './timeline-page';
import {
  TIMELINE_REVISIONS_PER_DOCUMENT,
  timelineKey,
  timelineProjection,
  timelineReadModel,
  type TimelineItem,
} from './timeline.projection';

const A = '5b1f0c2a-9e3d-5c4b-a1f2-3e4d5c6b7a89';
const B = '6c2f0c2a-9e3d-5c4b-a1f2-3e4d5c6b7a89';

// The items as the read model kept them before it kept references: one document per item.
const copies: Projection<TimelineItem, Record<never, never>> = {
  ...timelineProjection,
  name: 'timeline-copies',
};

const logged = (participantId: string, n: number) =>
  testEvent('ActivityLogged', {
    participantId,
    activityId: `a-${n}`,
    pillar: 'social',
    category: 'other_social',
    title: `Activity ${n}`,
    occurredOn: '2026-05-01',
    endedOn: null,
    hours: 1 + (n % 3),
    evidence: null,
  });

describe('timelinePage', () => {
  let dir: string;
  let events: SqliteEventStore;
  let store: SqliteReadModelStore;
  let readModels: ReadModels;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'timeline-page-'));
    events = new SqliteEventStore({ fileName: join(dir, 'events.sqlite') });
    store = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
    readModels = new ReadModels(store);
    // Two participants' streams interleaved with another stream, over several documents of
    // references; an event the timeline cannot describe in the middle (a dead letter).
    const count = 2 * TIMELINE_REVISIONS_PER_DOCUMENT + 40;
    for (let n = 0; n < count; n += 1) {
      await events.append(`participant-${A}`, [
        n === 77 ? testEvent('SomethingUnknown', { n }) : logged(A, n),
      ]);
      if (n % 3 === 0) await events.append(`participant-${B}`, [logged(B, n)]);
      if (n % 5 === 0) await events.append('application-x', [testEvent('Other', { n })]);
    }
    await rebuildProjections(events, store, [timelineReadModel, copies], { batchSize: 50 });
  });
  afterAll(async () => {
    await events.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([1, 7, 50, 129, 1000])(
    'pages (limit %i) exactly as the read model of copies did: items, summaries, cursors',
    async (limit) => {
      for (const participantId of [A, B, 'no-such-participant']) {
        let cursor: string | undefined;
        let pages = 0;
        do {
          const expected = await readModels.list(copies, {
            keyPrefix: `${participantId}/`,
            where: {},
            orderBy: 'key',
            limit,
            ...(cursor === undefined ? {} : { cursor }),
          });
          const page = await timelinePage(readModels, events, participantId, limit, cursor);
          expect(JSON.stringify(page)).toBe(JSON.stringify(expected));
          cursor = page.nextCursor ?? undefined;
          pages += 1;
        } while (cursor !== undefined);
        expect(pages).toBeGreaterThan(0);
      }
    },
  );

  it('leaves out the event it cannot describe, as the projection did', async () => {
    const all = await timelinePage(readModels, events, A, 10_000);
    expect(all.items.map((item) => item.type)).not.toContain('SomethingUnknown');
    expect(all.items).toHaveLength(2 * TIMELINE_REVISIONS_PER_DOCUMENT + 39);
    expect((await store.deadLetters()).map((letter) => letter.projection).sort()).toEqual([
      'timeline',
      'timeline-copies',
    ]);
  });

  it('starts after any cursor key, and refuses a cursor it never gave', async () => {
    const all = await timelinePage(readModels, events, A, 10_000);
    const tenth = timelineKey(A, all.items[9]!.position);
    const page = await timelinePage(readModels, events, A, 3, encodeCursor(tenth, tenth));
    expect(page.items).toEqual(all.items.slice(10, 13));
    await expect(timelinePage(readModels, events, A, 3, 'garbage')).rejects.toThrow(
      InvalidCursorError,
    );
  });
});
