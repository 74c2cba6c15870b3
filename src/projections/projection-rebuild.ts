import type { EventStore } from '../event-sourcing';
import type { Projection } from './projection';
import { applyBatch } from './apply-batch';
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
 */
export async function rebuildProjections(
  events: EventStore,
  readModels: ReadModelStore,
  projections: ReadonlyArray<Projection<unknown>>,
  options: { batchSize?: number; onProgress?: (progress: RebuildProgress) => void } = {},
): Promise<Map<string, RebuildResult>> {
  const batchSize = options.batchSize ?? 5000;
  const targets = [];
  for (const projection of projections) {
    const active = await readModels.activeGeneration(projection.name);
    const generation = (active?.generation ?? 0) + 1;
    const existing = await readModels.generation(projection.name, generation);
    if (!existing)
      await readModels.createGeneration(projection.name, generation, projection.version);
    targets.push({ projection, generation, position: existing?.position ?? 0 });
  }
  let position = Math.min(...targets.map((target) => target.position));
  let applied = 0;
  let head = await events.headPosition();
  options.onProgress?.({ position, head, applied });
  for (;;) {
    const batch = await events.readAll(position, batchSize);
    if (batch.length === 0) break;
    for (const target of targets) {
      // A resumed read model may already be past part of the batch.
      const pending =
        target.position === position
          ? batch
          : batch.filter((event) => event.position > target.position);
      if (pending.length === 0) continue;
      await applyBatch(readModels, target.projection, target.generation, target.position, pending);
      target.position = pending[pending.length - 1]!.position;
    }
    position = batch[batch.length - 1]!.position;
    applied += batch.length;
    if (position > head) head = await events.headPosition();
    options.onProgress?.({ position, head, applied });
  }
  const results = new Map<string, RebuildResult>();
  for (const target of targets) {
    await readModels.activate(target.projection.name, target.generation);
    results.set(target.projection.name, {
      generation: target.generation,
      position: target.position,
      applied,
    });
  }
  return results;
}

/** Rebuilds one read model (see `rebuildProjections`). */
export async function rebuildProjection(
  events: EventStore,
  readModels: ReadModelStore,
  projection: Projection<unknown>,
  options: { batchSize?: number; onProgress?: (progress: RebuildProgress) => void } = {},
): Promise<RebuildResult> {
  return (await rebuildProjections(events, readModels, [projection], options)).get(
    projection.name,
  )!;
}
