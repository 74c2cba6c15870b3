import type { RecordedEvent } from '../event-sourcing';
import { blamesStore, failureKind } from '../shared/transient';
import { type IndexFields, type Projection, type Rollup, rollupKey } from './projection';
import {
  CheckpointMovedError,
  type DeadLetter,
  type DocumentWrite,
  type ReadModelStore,
} from './read-model-store';

/** How many written keys `PendingChanges` remembers to skip reads for (~100 MB at most). */
const MAX_WRITTEN_KEYS = 1_000_000;

/**
 * Events applied in memory to one generation of a read model, not yet committed. `apply` folds
 * events into the documents they touch (loading those not held yet); `flush` writes every
 * changed document, the dead letters and the new checkpoint in one transaction.
 *
 * The live runner flushes after every batch. A rebuild owns its generation (nothing else writes
 * it until it is activated), so it can apply many batches before flushing: a document touched
 * by several batches (a participant's progress) is then written once instead of once per batch.
 */
export class PendingChanges {
  private readonly docs = new Map<string, unknown>();
  private readonly changed = new Set<string>();
  /**
   * With a rollup: the index each document held when it was loaded (null: none), that is at the
   * last flush, so that the flush can take it out of its group's total before adding the new one.
   */
  private readonly committedIndexes = new Map<string, IndexFields | null>();
  private deadLetters: DeadLetter[] = [];
  private position: number;
  private applied = 0;

  /**
   * While the generation holds nothing but what this object wrote (see `empty`): the keys it
   * wrote. A key not among them needs no read to know it has no document yet.
   */
  private written: Set<string> | undefined;
  private readonly recordDeadLetters: boolean;

  constructor(
    private readonly readModels: ReadModelStore,
    private readonly projection: Projection<unknown>,
    private readonly generation: number,
    /** The generation's checkpoint: the commit fails if another writer has moved it. */
    private checkpoint: number,
    options: {
      /** False for a scratch replay: its failures are already on record from the live run. */
      readonly recordDeadLetters?: boolean;
      /**
       * The generation was created empty for this object alone (a rebuild's new generation): a
       * document it has not written does not exist, so loading it is skipped. Most documents
       * are first touched by a rebuild when they are made, so this spares a read for nearly all.
       */
      readonly empty?: boolean;
    } = {},
  ) {
    this.position = checkpoint;
    this.recordDeadLetters = options.recordDeadLetters ?? true;
    if (options.empty === true) this.written = new Set();
  }

  /** The last position applied (committed or not). */
  get appliedPosition(): number {
    return this.position;
  }

  /** The checkpoint of the last flush: what the store holds. */
  get committedPosition(): number {
    return this.checkpoint;
  }

  /** Documents changed and events applied since the last flush. */
  get size(): { readonly documents: number; readonly events: number } {
    return { documents: this.changed.size, events: this.applied };
  }

  /** Folds `batch` into the pending documents. An event whose `evolve` throws becomes a dead letter with none of its effects. */
  async apply(batch: readonly RecordedEvent[]): Promise<void> {
    if (batch.length === 0) return;
    const projection = this.projection;
    // Each event's keys, asked once: a rebuild applies every event of the log to each projection.
    const keysOf = batch.map((event) => projection.keysOf(event));
    if (!projection.createsOnly) {
      const missing = new Set<string>();
      for (const keys of keysOf) for (const key of keys) if (!this.docs.has(key)) missing.add(key);
      const written = this.written;
      const stored = written ? [...missing].filter((key) => written.has(key)) : [...missing];
      if (missing.size > 0) {
        const loaded =
          stored.length > 0
            ? await this.readModels.load(projection.name, this.generation, stored)
            : new Map<string, unknown>();
        for (const key of missing) {
          const doc = loaded.get(key) ?? null;
          this.docs.set(key, doc);
          // Before any event changes it (the batch may change it in place).
          if (projection.rollup)
            this.committedIndexes.set(key, doc === null ? null : projection.indexOf(doc));
        }
      }
    }
    for (let i = 0; i < batch.length; i += 1) {
      const keys = keysOf[i]!;
      if (keys.length === 0) continue;
      const event = batch[i]!;
      try {
        if (keys.length === 1) {
          // Most events touch one document: no need to hold its effect aside. The batch owns the
          // documents it holds (loaded for it, or made by evolve within it), so they may change
          // in place.
          const key = keys[0]!;
          const doc = (projection.evolveOwned ?? projection.evolve)(
            this.docs.get(key) ?? null,
            event,
            key,
          );
          this.docs.set(key, doc);
          this.changed.add(key);
          continue;
        }
        // An event's effects on all its documents land together, or (if evolve throws) not at all.
        const effects = new Map<string, unknown>();
        for (const key of keys) {
          const before = effects.has(key) ? effects.get(key) : (this.docs.get(key) ?? null);
          effects.set(key, projection.evolve(before, event, key));
        }
        for (const [key, doc] of effects) {
          this.docs.set(key, doc);
          this.changed.add(key);
        }
      } catch (error) {
        this.deadLetters.push(
          deadLetterOf(projection, event, error instanceof Error ? error.message : String(error)),
        );
      }
    }
    this.position = batch[batch.length - 1]!.position;
    this.applied += batch.length;
  }

  /**
   * Moves the changed documents' shares between their groups' totals (`Rollup`): each one's index
   * as loaded out of its old group, its new index into its new one. Adds the totals that changed
   * to `writes` (or to `deletes`, once nothing counts in them).
   */
  private async rollUp(
    rollup: Rollup<IndexFields, unknown>,
    writes: DocumentWrite[],
    deletes: string[],
  ): Promise<void> {
    const after = new Map(writes.map((write) => [write.key, write.index]));
    const shares: Array<{ group: string; index: IndexFields; sign: 1 | -1 }> = [];
    const share = (index: IndexFields | null | undefined, sign: 1 | -1) => {
      const group = index ? rollup.groupOf(index) : null;
      if (group !== null) shares.push({ group, index: index!, sign });
    };
    for (const key of this.changed) {
      share(this.committedIndexes.get(key), -1);
      share(after.get(key), 1);
    }
    if (shares.length === 0) return;
    const groups = [...new Set(shares.map(({ group }) => group))];
    const stored = await this.readModels.load(
      this.projection.name,
      this.generation,
      groups.map(rollupKey),
    );
    // A total is whatever the rollup's `add` made: the projection is untyped here.
    const totals = new Map<string, NonNullable<unknown> | null>(
      groups.map((group) => [group, stored.get(rollupKey(group)) ?? null]),
    );
    for (const { group, index, sign } of shares)
      totals.set(
        group,
        rollup.add(totals.get(group) ?? null, index, sign) as NonNullable<unknown> | null,
      );
    for (const [group, total] of totals) {
      if (total === null) deletes.push(rollupKey(group));
      else writes.push({ key: rollupKey(group), doc: total, index: {} });
    }
  }

  /** Commits what was applied since the last flush, with the checkpoint, in one transaction. */
  async flush(): Promise<void> {
    if (this.position === this.checkpoint) return;
    const writes: DocumentWrite[] = [];
    const deletes: string[] = [];
    for (const key of this.changed) {
      const doc = this.docs.get(key);
      if (doc === null || doc === undefined) deletes.push(key);
      else writes.push({ key, doc, index: this.projection.indexOf(doc) });
    }
    if (this.projection.rollup) await this.rollUp(this.projection.rollup, writes, deletes);
    await this.readModels.commit({
      projection: this.projection.name,
      generation: this.generation,
      writes,
      deletes,
      deadLetters: this.recordDeadLetters ? this.deadLetters : [],
      fromPosition: this.checkpoint,
      toPosition: this.position,
    });
    this.checkpoint = this.position;
    if (this.written) {
      for (const { key } of writes) this.written.add(key);
      // Past a bound, memory matters more than the reads this spares: every key is read again.
      if (this.written.size > MAX_WRITTEN_KEYS) this.written = undefined;
    }
    // Nothing is kept between flushes: memory stays bounded by what one flush holds.
    this.docs.clear();
    this.changed.clear();
    this.committedIndexes.clear();
    this.deadLetters = [];
    this.applied = 0;
  }
}

/**
 * Applies a batch of events to one generation of a read model and moves its checkpoint, in
 * one transaction. An event whose `evolve` throws becomes a dead letter with none of its effects.
 */
export async function applyBatch(
  readModels: ReadModelStore,
  projection: Projection<unknown>,
  generation: number,
  from: number,
  batch: readonly RecordedEvent[],
): Promise<void> {
  const pending = new PendingChanges(readModels, projection, generation, from);
  await pending.apply(batch);
  await pending.flush();
}

/**
 * Runs one store operation, retrying it as the caller sees fit: the live runner retries
 * transient failures with a backoff, a rebuild runs it once.
 */
export type StoreAttempt = <T>(work: () => Promise<T>) => Promise<T>;

const once: StoreAttempt = (work) => work();

/**
 * True when the store refused a commit for what it holds (a document it cannot store), so that
 * committing the same changes again would fail the same way while other changes would pass. Not
 * a moved checkpoint, not a failure that passes (see `failureKind`), not a store that no commit
 * would pass (a table missing: see `blamesStore`), which would set every event aside.
 */
export function isRefusal(error: unknown): boolean {
  return (
    !(error instanceof CheckpointMovedError) &&
    failureKind(error) === 'permanent' &&
    !blamesStore(error)
  );
}

/**
 * `applyBatch`, going on past events whose documents the store refuses: when the commit is
 * refused, the batch is split in halves, recursively, each committed on its own, until the events
 * whose commit is refused stand alone; each of those is committed as a dead letter (its error,
 * none of its effects), with the checkpoint, and the rest are applied. A batch of n events with
 * one refused event costs about 2·log2(n) extra commits. Failures that are not refusals (a moved
 * checkpoint, a store that went away) are thrown. Resolves to the dead letters the refusals made.
 */
export async function applyIsolating(
  readModels: ReadModelStore,
  projection: Projection<unknown>,
  generation: number,
  from: number,
  batch: readonly RecordedEvent[],
  attempt: StoreAttempt = once,
): Promise<DeadLetter[]> {
  if (batch.length === 0) return [];
  try {
    await attempt(() => applyBatch(readModels, projection, generation, from, batch));
    return [];
  } catch (error) {
    if (!isRefusal(error)) throw error;
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      const first = batch.slice(0, half);
      const refused = await applyIsolating(
        readModels,
        projection,
        generation,
        from,
        first,
        attempt,
      );
      const after = first[first.length - 1]!.position;
      refused.push(
        ...(await applyIsolating(
          readModels,
          projection,
          generation,
          after,
          batch.slice(half),
          attempt,
        )),
      );
      return refused;
    }
    const event = batch[0]!;
    const letter = deadLetterOf(
      projection,
      event,
      `read-model store refused: ${describeError(error)}`,
    );
    await attempt(() =>
      readModels.commit({
        projection: projection.name,
        generation,
        writes: [],
        deletes: [],
        deadLetters: [letter],
        fromPosition: from,
        toPosition: event.position,
      }),
    );
    return [letter];
  }
}

/** A dead letter for `event` with `error`. */
function deadLetterOf(projection: Projection<unknown>, event: RecordedEvent, error: string) {
  return {
    projection: projection.name,
    position: event.position,
    eventId: event.eventId,
    eventType: event.type,
    streamName: event.streamName,
    error,
    recordedAt: new Date().toISOString(),
  } satisfies DeadLetter;
}

/** An error as one line: the driver's code (SQLSTATE, SQLITE_...) and its message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && !error.message.includes(code)
    ? `${code} ${error.message}`
    : error.message;
}
