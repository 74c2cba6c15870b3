import type { EventStore } from '../event-sourcing';
import type { Projection } from './projection';
import { type RebuildOptions, rebuildProjections } from './projection-rebuild';
import type { DeadLetter, ReadModelStore } from './read-model-store';

/** What retrying the dead letters did. */
export type DeadLetterRetry = {
  /** Dead letters there were, of the projections given. */
  readonly before: number;
  /** Of those, how many now applied. */
  readonly reapplied: number;
  /** The dead letters the rebuilt read models have: events that still fail. */
  readonly remaining: DeadLetter[];
};

/**
 * Applies the dead letters again, after a fix. Applying an old event late, on top of documents
 * that later events have changed since, could give another answer than applying it in order;
 * so each read model with dead letters is rebuilt from the events instead, beside the served
 * generation, and switched to (see `rebuildProjections`). The rebuilt generation's dead letters
 * replace the old ones: those that apply now are gone, those that still fail are kept, with the
 * error they fail with now.
 */
export async function retryDeadLetters(
  events: EventStore,
  readModels: ReadModelStore,
  projections: ReadonlyArray<Projection<unknown>>,
  options: RebuildOptions = {},
): Promise<DeadLetterRetry> {
  const known = new Set(projections.map((projection) => projection.name));
  const before = (await readModels.deadLetters()).filter((letter) => known.has(letter.projection));
  const affected = projections.filter((projection) =>
    before.some((letter) => letter.projection === projection.name),
  );
  if (affected.length === 0) return { before: 0, reapplied: 0, remaining: [] };
  await rebuildProjections(events, readModels, affected, options);
  const names = new Set(affected.map((projection) => projection.name));
  const remaining = (await readModels.deadLetters()).filter((letter) =>
    names.has(letter.projection),
  );
  const failing = new Set(remaining.map(letterKey));
  return {
    before: before.length,
    reapplied: before.filter((letter) => !failing.has(letterKey(letter))).length,
    remaining,
  };
}

const letterKey = (letter: DeadLetter): string => `${letter.projection}@${letter.position}`;
