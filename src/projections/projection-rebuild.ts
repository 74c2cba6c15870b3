import type { EventStore } from '../event-sourcing';
import type { Projection } from './projection';
import { applyBatch } from './projection-runner';
import type { ReadModelStore } from './read-model-store';

/** How far a rebuild has come. */
export type RebuildProgress = {
  readonly projection: string;
  /** Position applied so far. */
  readonly position: number;
  /** The log's head when last checked. */
  readonly head: number;
  /** Events applied by this run. */
  readonly applied: number;
};

/**
 * Rebuilds a read model without downtime: the events are replayed into a new generation while
 * queries (and the live runner) keep using the active one; once the new generation has caught
 * up with the log it is activated in one transaction, and the live runner moves to it. A
 * rebuild that stops half-way leaves the active generation serving; the next run resumes the
 * half-built generation from its checkpoint.
 */
export async function rebuildProjection(
  events: EventStore,
  readModels: ReadModelStore,
  projection: Projection<unknown>,
  options: { batchSize?: number; onProgress?: (progress: RebuildProgress) => void } = {},
): Promise<{ generation: number; position: number; applied: number }> {
  const batchSize = options.batchSize ?? 5000;
  const active = await readModels.activeGeneration(projection.name);
  const generation = (active?.generation ?? 0) + 1;
  const existing = await readModels.generation(projection.name, generation);
  if (!existing) await readModels.createGeneration(projection.name, generation, projection.version);
  let position = existing?.position ?? 0;
  let applied = 0;
  let head = await events.headPosition();
  options.onProgress?.({ projection: projection.name, position, head, applied });
  for (;;) {
    const batch = await events.readAll(position, batchSize);
    if (batch.length === 0) break;
    await applyBatch(readModels, projection, generation, position, batch);
    position = batch[batch.length - 1]!.position;
    applied += batch.length;
    if (position > head) head = await events.headPosition();
    options.onProgress?.({ projection: projection.name, position, head, applied });
  }
  await readModels.activate(projection.name, generation);
  return { generation, position, applied };
}
