import type { RecordedEvent } from '../event-sourcing';
import type { Projection } from './projection';
import type { DeadLetter, DocumentWrite, ReadModelStore } from './read-model-store';

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
  const keys = new Set<string>();
  for (const event of batch) for (const key of projection.keysOf(event)) keys.add(key);
  const docs = projection.createsOnly
    ? new Map<string, unknown>()
    : await readModels.load(projection.name, generation, [...keys]);
  const changed = new Set<string>();
  const deadLetters: DeadLetter[] = [];
  for (const event of batch) {
    // An event's effects on all its documents land together, or (if evolve throws) not at all.
    const effects = new Map<string, unknown>();
    try {
      for (const key of projection.keysOf(event)) {
        effects.set(
          key,
          projection.evolve(
            effects.has(key) ? effects.get(key) : (docs.get(key) ?? null),
            event,
            key,
          ),
        );
      }
    } catch (error) {
      deadLetters.push({
        projection: projection.name,
        position: event.position,
        eventId: event.eventId,
        eventType: event.type,
        streamName: event.streamName,
        error: error instanceof Error ? error.message : String(error),
        recordedAt: new Date().toISOString(),
      });
      continue;
    }
    for (const [key, doc] of effects) {
      if (doc === null) docs.delete(key);
      else docs.set(key, doc);
      changed.add(key);
    }
  }
  const writes: DocumentWrite[] = [];
  const deletes: string[] = [];
  for (const key of changed) {
    const doc = docs.get(key);
    if (doc === undefined) deletes.push(key);
    else writes.push({ key, doc, index: projection.indexOf(doc) });
  }
  await readModels.commit({
    projection: projection.name,
    generation,
    writes,
    deletes,
    deadLetters,
    fromPosition: from,
    toPosition: batch[batch.length - 1]!.position,
  });
}
