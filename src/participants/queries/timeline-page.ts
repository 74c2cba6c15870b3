import type { EventStore } from '../../event-sourcing';
import { type Page, decodeCursor, encodeCursor } from '../../projections/read-model-store';
import type { ReadModels } from '../../projections/read-models';
import {
  type TimelineItem,
  type TimelineRef,
  timelineItemOf,
  timelineKey,
  timelineReadModel,
} from './timeline.projection';

/** Timeline documents read per query while looking for a page's references. */
const DOCUMENTS_PER_READ = 8;

/**
 * A page of a participant's timeline: the references the timeline read model holds, in order,
 * after `cursor`; then their events, read from the participant's stream in one range
 * (`readStream` from the first revision, as many as the page spans: every store does that,
 * EventStoreDB included), each made into its item by `timelineItemOf`, as the fold makes it.
 *
 * The same answer as the read model gave when it kept a copy of each item: items keyed
 * `<participant>/<position>`, in key order, those after the cursor's key; the cursor of a page
 * with more after it is its last item's key, as the store encodes it for a list in key order.
 * Only events the read model has reached are shown, since the references come from it: a page
 * read with `minPosition` never shows an event beyond what the read model had applied.
 * `events` must be the store the projections read (EVENT_STORE, upcasting), so that items show
 * events in the shape the read model saw them.
 */
export async function timelinePage(
  readModels: ReadModels,
  events: EventStore,
  participantId: string,
  limit: number,
  cursor?: string,
): Promise<Page<TimelineItem>> {
  const afterKey = cursor === undefined ? undefined : decodeCursor(cursor)[1];
  const prefix = `${participantId}/`;
  // limit + 1 references, to know whether a next page exists.
  const refs: Array<{ key: string; ref: TimelineRef }> = [];
  let documentsCursor: string | undefined;
  do {
    const documents = await readModels.list(timelineReadModel, {
      keyPrefix: prefix,
      where: {},
      orderBy: 'key',
      limit: DOCUMENTS_PER_READ,
      ...(documentsCursor === undefined ? {} : { cursor: documentsCursor }),
    });
    for (const document of documents.items) {
      for (const ref of document.refs) {
        const key = timelineKey(participantId, ref[0]);
        if (afterKey === undefined || key > afterKey) refs.push({ key, ref });
      }
    }
    documentsCursor = documents.nextCursor ?? undefined;
  } while (documentsCursor !== undefined && refs.length <= limit);
  const more = refs.length > limit;
  const page = refs.slice(0, limit);
  if (page.length === 0) return { items: [], nextCursor: null };
  const first = page[0]!.ref[1];
  const last = page[page.length - 1]!.ref[1];
  const stream = `participant-${participantId}`;
  const read = await events.readStream(stream, {
    fromRevision: first,
    maxCount: last - first + 1,
  });
  const byRevision = new Map(read.map((event) => [event.revision, event]));
  const items = page.map(({ ref: [position, revision] }) => {
    const event = byRevision.get(revision);
    if (!event)
      throw new Error(
        `the timeline refers to revision ${revision} of ${stream}, which the log does not have`,
      );
    return timelineItemOf(event, position);
  });
  const lastKey = page[page.length - 1]!.key;
  return { items, nextCursor: more ? encodeCursor(lastKey, lastKey) : null };
}
