import type { RecordedEvent } from '../event-sourcing';

/** Values a read model exposes for filtering and ordering lists (stored beside the document). */
export type IndexFields = Readonly<Record<string, string | number | null>>;

/**
 * A read model as a pure function of the events: for each event, which documents it touches
 * (`keysOf`) and what each becomes (`evolve`; null deletes it). No I/O, no clock: what depends
 * on today (pace) is computed when read.
 */
export interface Projection<Doc, Index extends IndexFields = IndexFields, Total = unknown> {
  /** Stable name, e.g. `progress`; also the read model's name in the store. */
  readonly name: string;
  /** Bumped when `evolve` changes meaning: the read model must then be rebuilt. */
  readonly version: number;
  /** The documents `event` affects; empty for events this projection ignores. */
  keysOf(event: RecordedEvent): readonly string[];
  /** The document after `event`; `null` removes it. */
  evolve(doc: Doc | null, event: RecordedEvent, key: string): Doc | null;
  /**
   * `evolve` for a document the caller owns (loaded or built for this batch alone, and read
   * later only through what this returns): it may change `doc` in place instead of copying it,
   * which spares a document that grows (a participant's activities) a copy per event. It must
   * decide everything, and throw, before it changes anything, so that an event refused as a dead
   * letter leaves the document as it was. Absent: `evolve`.
   */
  evolveOwned?(doc: Doc | null, event: RecordedEvent, key: string): Doc | null;
  /** Fields to filter and order lists by; their type is what typed queries may filter on. */
  indexOf(doc: Doc): Index;
  /**
   * True when every event makes documents of its own (keys never seen before, as a timeline's
   * per-event items): the runner then skips loading them.
   */
  readonly createsOnly?: boolean;
  /** Totals over the documents, kept as they change (see `Rollup`). */
  readonly rollup?: Rollup<Index, Total>;
}

/**
 * Totals over a projection's documents, kept up to date as the documents change, so that a
 * question about many documents (a society's dashboard) reads one small document instead of all
 * of them. Each document counts in at most one group, found from its index; when a document
 * changes, its old index is taken out of its group's total (`add` with sign -1) and its new one
 * put in (sign 1). Totals are documents of the projection's own read model, under the key
 * `rollupKey(group)`, written in the same commit as the documents they sum: a rebuild, a replay
 * and the live runner all keep them, and verification compares them like any other document.
 *
 * `add` must be exact whatever the order (integers, not fractions that round), so that totals
 * kept event by event equal totals rebuilt at once; it returns null once nothing counts in the
 * group any more (the total is then removed, as a rebuild would never have made it).
 */
export interface Rollup<Index, Total> {
  /** The group a document with this index counts in; null: none. */
  groupOf(index: Index): string | null;
  /**
   * `total` with one document's share (`index`) added (sign 1) or taken away (sign -1). The
   * caller owns `total` (read for this commit alone), so it may be changed in place.
   */
  add(total: Total | null, index: Index, sign: 1 | -1): Total | null;
}

/** A rollup's group made of parts (e.g. a programme and a society): JSON, so they never run together. */
export function rollupGroup(...parts: readonly string[]): string {
  return JSON.stringify(parts);
}

/** What every group whose first parts are `parts` begins with (`rollupGroup(...parts, more)`). */
export function rollupGroupsUnder(...parts: readonly string[]): string {
  return `${JSON.stringify(parts).slice(0, -1)}${parts.length > 0 ? ',' : ''}`;
}

/**
 * Where a rollup's total for `group` is kept. A projection with a rollup keys its documents by
 * identifiers (UUIDs), which never begin with `~`.
 */
export function rollupKey(group: string): string {
  return `~${group}`;
}

/** Folds events into documents in memory: the reference every store must agree with. */
export function foldProjection<Doc>(
  projection: Projection<Doc>,
  events: Iterable<RecordedEvent>,
  into = new Map<string, Doc>(),
): Map<string, Doc> {
  for (const event of events) {
    for (const key of projection.keysOf(event)) {
      const next = projection.evolve(into.get(key) ?? null, event, key);
      if (next === null) into.delete(key);
      else into.set(key, next);
    }
  }
  return into;
}
