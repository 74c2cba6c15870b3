import { randomInt } from 'node:crypto';
import { canonicalJson, type EventStore } from '../event-sourcing';
import { PendingChanges } from './apply-batch';
import type { Projection } from './projection';
import { CheckpointMovedError, type ReadModelStore } from './read-model-store';

/**
 * A generation for one verification to replay into: negative (live ones count up from 1) and
 * random, so that verifications running at once (the service and the CLI) do not meet.
 */
export const scratchGeneration = () => -randomInt(1, 2 ** 31 - 1);
const MAX_PROBLEMS_PER_READ_MODEL = 1000;

/** A read-model row that is not what a fresh replay of the log makes it. */
export type ReadModelProblem = {
  readonly projection: string;
  /** The row's key; null when the read model as a whole is concerned. */
  readonly key: string | null;
  readonly problem: string;
};

/** What a verification of the read models found. */
export type ReadModelReport = {
  readonly readModels: Array<{ name: string; position: number; documents: number }>;
  readonly problems: ReadModelProblem[];
};

/** How far the replay has come. */
export type ReplayProgress = { readonly position: number; readonly head: number };

/**
 * Checks that every read model equals a fresh replay of the log: each projection is replayed,
 * by its own code, into a scratch generation up to the live generation's checkpoint, and the
 * two are compared row by row (document and index fields, as canonical JSON). When the live
 * runner moves on meanwhile, the scratch copy is brought up to the new checkpoint and compared
 * again. The scratch generations are dropped afterwards; the live ones are never written.
 */
export async function verifyReadModels(
  events: EventStore,
  readModels: ReadModelStore,
  projections: ReadonlyArray<Projection<unknown>>,
  options: { readonly onProgress?: (progress: ReplayProgress) => void } = {},
): Promise<ReadModelReport> {
  const SCRATCH_GENERATION = scratchGeneration();
  const problems: ReadModelProblem[] = [];
  const summary: ReadModelReport['readModels'] = [];
  const targets: Array<{
    projection: Projection<unknown>;
    generation: number;
    position: number;
    pending: PendingChanges;
  }> = [];
  for (const projection of projections) {
    const active = await readModels.activeGeneration(projection.name);
    if (!active) continue;
    if (active.version !== projection.version) {
      problems.push({
        projection: projection.name,
        key: null,
        problem: `built by version ${active.version} of its projection, the code is version ${projection.version}: a rebuild is due`,
      });
      continue;
    }
    await readModels.createGeneration(projection.name, SCRATCH_GENERATION, projection.version);
    targets.push({
      projection,
      generation: active.generation,
      position: active.position,
      pending: new PendingChanges(readModels, projection, SCRATCH_GENERATION, 0, false),
    });
  }
  try {
    let open = targets;
    for (let round = 0; open.length > 0; round += 1) {
      try {
        await replay(events, open, options.onProgress);
      } catch (error) {
        // A rebuild activated meanwhile drops every other generation, this scratch copy too.
        if (!(error instanceof CheckpointMovedError)) throw error;
        for (const target of open) {
          problems.push({
            projection: target.projection.name,
            key: null,
            problem: 'the read model was rebuilt while it was being verified: verify again',
          });
        }
        break;
      }
      const moved = [];
      for (const target of open) {
        const found = await compare(
          readModels,
          target.projection.name,
          target.generation,
          SCRATCH_GENERATION,
        );
        const now = await readModels.activeGeneration(target.projection.name);
        if (now?.generation !== target.generation) {
          problems.push({
            projection: target.projection.name,
            key: null,
            problem: 'the read model was rebuilt while it was being verified: verify again',
          });
        } else if (now.position !== target.position && found.problems.length > 0 && round < 3) {
          // The live runner moved on meanwhile: catch up and compare again.
          moved.push({ ...target, position: now.position });
        } else {
          problems.push(...found.problems);
          summary.push({
            name: target.projection.name,
            position: target.position,
            documents: found.documents,
          });
        }
      }
      open = moved;
    }
  } finally {
    for (const target of targets)
      await readModels.dropGeneration(target.projection.name, SCRATCH_GENERATION);
  }
  return { readModels: summary, problems };
}

// One pass over the log for every scratch copy, each up to its own target position.
async function replay(
  events: EventStore,
  targets: ReadonlyArray<{ position: number; pending: PendingChanges }>,
  onProgress: ((progress: ReplayProgress) => void) | undefined,
): Promise<void> {
  const head = Math.max(...targets.map((target) => target.position));
  let position = Math.min(...targets.map((target) => target.pending.appliedPosition));
  while (position < head) {
    const batch = await events.readAll(position, 5000);
    if (batch.length === 0) break;
    for (const { pending, position: until } of targets) {
      const from = pending.appliedPosition;
      await pending.apply(
        batch.filter((event) => event.position > from && event.position <= until),
      );
      if (pending.size.events >= 50_000 || pending.size.documents >= 2000) await pending.flush();
    }
    position = batch[batch.length - 1]!.position;
    onProgress?.({ position: Math.min(position, head), head });
  }
  for (const { pending } of targets) await pending.flush();
}

// Walks the live and the scratch generation side by side in key order.
async function compare(
  readModels: ReadModelStore,
  projection: string,
  generation: number,
  scratch: number,
): Promise<{ documents: number; problems: ReadModelProblem[] }> {
  const problems: ReadModelProblem[] = [];
  const report = (key: string, problem: string) => {
    if (problems.length < MAX_PROBLEMS_PER_READ_MODEL) problems.push({ projection, key, problem });
  };
  const pageSize = 1000;
  const live = pager(readModels, projection, generation, pageSize);
  const fresh = pager(readModels, projection, scratch, pageSize);
  let documents = 0;
  let a = await live.next();
  let b = await fresh.next();
  while (a || b) {
    if (a && (!b || a.key < b.key)) {
      report(a.key, 'is not in a fresh replay of the log: the events do not produce this row');
      documents += 1;
      a = await live.next();
    } else if (b && (!a || b.key < a.key)) {
      report(b.key, 'is missing: a fresh replay of the log produces this row');
      b = await fresh.next();
    } else if (a && b) {
      if (canonicalJson(a.doc) !== canonicalJson(b.doc))
        report(a.key, 'differs from a fresh replay of the log');
      else if (canonicalJson(a.index) !== canonicalJson(b.index))
        report(a.key, 'its index fields differ from a fresh replay of the log');
      documents += 1;
      a = await live.next();
      b = await fresh.next();
    }
  }
  return { documents, problems };
}

function pager(readModels: ReadModelStore, projection: string, generation: number, size: number) {
  let page: Array<{ key: string; doc: unknown; index: unknown }> = [];
  let at = 0;
  let after = '';
  let done = false;
  return {
    async next() {
      if (at >= page.length) {
        if (done) return undefined;
        page = await readModels.scan(projection, generation, after, size);
        at = 0;
        if (page.length < size) done = true;
        if (page.length === 0) return undefined;
        after = page[page.length - 1]!.key;
      }
      return page[at++];
    },
  };
}
