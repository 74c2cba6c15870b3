import type { EventStore } from '../event-sourcing';
import type { Projection } from './projection';
import { applyIsolating, isRefusal, PendingChanges } from './apply-batch';
import { type Lease, type Leadership, RebuildInProgressError } from './leadership';
import type { ReadModelStore } from './read-model-store';

/** How far a rebuild has come. */
export type RebuildProgress = {
  /** Position applied so far (by the furthest-behind read model being rebuilt). */
  readonly position: number;
  /** The log's head when last checked. */
  readonly head: number;
  /** Events read by this run. */
  readonly applied: number;
};

/** Tuning for a rebuild. */
export type RebuildOptions = {
  /** Events read from the log at a time; default 5000. */
  readonly batchSize?: number;
  /**
   * A read model's changes are committed (with its checkpoint) once this many events, or this
   * many changed documents, have been applied since its last commit; defaults 50,000 and 2000.
   * Larger windows write a document touched by many events less often, and hold more in memory.
   */
  readonly flushEvents?: number;
  readonly flushDocuments?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
  /**
   * Asked between batches: true stops the rebuild, which then throws `RebuildStoppedError`
   * without switching (what it committed is kept, and the next run resumes from it).
   */
  readonly shouldStop?: () => boolean;
  /**
   * Several instances: the rebuild holds `rebuild:<read model>` for each read model it rebuilds,
   * so that two rebuilds of one read model never run at once; one already running makes it throw
   * `RebuildInProgressError` before it starts. Losing a lease stops it (`RebuildStoppedError`).
   */
  readonly leadership?: Leadership;
};

/** A rebuild stopped by its `shouldStop` before it switched to the new generations. */
export class RebuildStoppedError extends Error {
  constructor() {
    super('the rebuild was stopped before it switched to the new read models');
  }
}

/** What a rebuild did. */
export type RebuildResult = {
  readonly generation: number;
  readonly position: number;
  readonly applied: number;
};

/**
 * Rebuilds read models without downtime: the log is read once and replayed into a new
 * generation of each read model, while queries (and the live runner) keep using the active
 * ones; once the new generations have caught up with the log they are activated, each in one
 * transaction, and the live runner moves to them. A rebuild that stops half-way leaves the
 * active generations serving; the next run resumes the half-built ones from their checkpoints.
 *
 * Events that cannot be applied are recorded as the new generation's dead letters, as the live
 * runner does: when the store refuses a commit, the events since the last one are read again and
 * committed in smaller batches, split until the refused events stand alone. Activation replaces
 * the old generation's dead letters, so a rebuild is also how dead letters are retried.
 */
export async function rebuildProjections(
  events: EventStore,
  readModels: ReadModelStore,
  projections: ReadonlyArray<Projection<unknown>>,
  options: RebuildOptions = {},
): Promise<Map<string, RebuildResult>> {
  const { leadership } = options;
  if (!leadership) return rebuildUnled(events, readModels, projections, options);
  const leases: Lease[] = [];
  try {
    for (const projection of projections) {
      const lease = await leadership.tryLead(`rebuild:${projection.name}`);
      if (!lease) throw new RebuildInProgressError(projection.name);
      leases.push(lease);
    }
    return await rebuildUnled(events, readModels, projections, {
      ...options,
      shouldStop: () => leases.some((lease) => lease.isLost()) || (options.shouldStop?.() ?? false),
    });
  } finally {
    await Promise.all(leases.map((lease) => lease.release().catch(() => undefined)));
  }
}

async function rebuildUnled(
  events: EventStore,
  readModels: ReadModelStore,
  projections: ReadonlyArray<Projection<unknown>>,
  options: RebuildOptions,
): Promise<Map<string, RebuildResult>> {
  const batchSize = options.batchSize ?? 5000;
  const flushEvents = options.flushEvents ?? 50_000;
  const flushDocuments = options.flushDocuments ?? 2000;
  const targets: Target[] = [];
  for (const projection of projections) {
    const active = await readModels.activeGeneration(projection.name);
    const generation = (active?.generation ?? 0) + 1;
    const existing = await readModels.generation(projection.name, generation);
    if (!existing)
      await readModels.createGeneration(projection.name, generation, projection.version);
    const position = existing?.position ?? 0;
    targets.push({
      projection,
      generation,
      // A generation made here holds nothing yet: documents it has not written need no read.
      pending: new PendingChanges(readModels, projection, generation, position, {
        empty: !existing,
      }),
    });
  }
  let position = Math.min(...targets.map((target) => target.pending.appliedPosition));
  let applied = 0;
  let head = await events.headPosition();
  options.onProgress?.({ position, head, applied });
  for (;;) {
    if (options.shouldStop?.()) throw new RebuildStoppedError();
    const batch = await events.readAll(position, batchSize);
    if (batch.length === 0) break;
    for (const target of targets) {
      // A resumed read model may already be past part of the batch.
      const from = target.pending.appliedPosition;
      await target.pending.apply(
        from === position ? batch : batch.filter((event) => event.position > from),
      );
      const { documents, events: applied } = target.pending.size;
      if (documents >= flushDocuments || applied >= flushEvents)
        await flushIsolating(events, readModels, target, batchSize);
    }
    position = batch[batch.length - 1]!.position;
    applied += batch.length;
    if (position > head) head = await events.headPosition();
    options.onProgress?.({ position, head, applied });
  }
  const results = new Map<string, RebuildResult>();
  for (const target of targets) {
    if (options.shouldStop?.()) throw new RebuildStoppedError();
    await flushIsolating(events, readModels, target, batchSize);
    await readModels.activate(target.projection.name, target.generation);
    results.set(target.projection.name, {
      generation: target.generation,
      position: target.pending.appliedPosition,
      applied,
    });
  }
  return results;
}

type Target = {
  readonly projection: Projection<unknown>;
  readonly generation: number;
  pending: PendingChanges;
};

// Commits what a target applied since its last commit. When the store refuses the commit, that
// stretch of the log is read again and committed batch by batch, each split until the events
// whose documents the store refuses stand alone as dead letters.
async function flushIsolating(
  events: EventStore,
  readModels: ReadModelStore,
  target: Target,
  batchSize: number,
): Promise<void> {
  try {
    await target.pending.flush();
    return;
  } catch (error) {
    if (!isRefusal(error)) throw error;
  }
  const { projection, generation } = target;
  const until = target.pending.appliedPosition;
  let position = target.pending.committedPosition;
  while (position < until) {
    const batch = (await events.readAll(position, batchSize)).filter(
      (event) => event.position <= until,
    );
    if (batch.length === 0) throw new Error(`the log ended before position ${until}`);
    await applyIsolating(readModels, projection, generation, position, batch);
    position = batch[batch.length - 1]!.position;
  }
  target.pending = new PendingChanges(readModels, projection, generation, until);
}

/** Rebuilds one read model (see `rebuildProjections`). */
export async function rebuildProjection(
  events: EventStore,
  readModels: ReadModelStore,
  projection: Projection<unknown>,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  return (await rebuildProjections(events, readModels, [projection], options)).get(
    projection.name,
  )!;
}
