import type { RecordedEvent } from '../event-sourcing';

/** Values a read model exposes for filtering and ordering lists (stored beside the document). */
export type IndexFields = Readonly<Record<string, string | number | null>>;

/**
 * A read model as a pure function of the events: for each event, which documents it touches
 * (`keysOf`) and what each becomes (`evolve`; null deletes it). No I/O, no clock: what depends
 * on today (pace) is computed when read.
 */
export interface Projection<Doc, Index extends IndexFields = IndexFields> {
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
