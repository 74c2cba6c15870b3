import { randomInt } from 'node:crypto';
import { canonicalJson, nextTurn, type EventStore } from '../event-sourcing';
import { PendingChanges } from './apply-batch';
import type { Projection } from './projection';
import { CheckpointMovedError, type ReadModelStore } from './read-model-store';

/**
 * A generation for one verification to replay into: negative (live ones count up from 1) and
 * random, so that verifications running at once (the service and the CLI) do not meet.
 */
export const scratchGeneration = () => -randomInt(1, 2 ** 31 - 1);
const MAX_PROBLEMS_PER_READ_MODEL = 1000;
/** How often rows that differed are looked at again while the live runner keeps moving. */
const MAX_RECHECKS = 10;
const INDEX_DIFFERS = 'its index fields differ from a fresh replay of the log';
/**
 * A scratch copy is written once this many documents have changed. Each flush serialises its
 * documents in one synchronous stretch (JSON, and pg's array literal): 2,000 small timeline
 * rows held the event loop for ~180 ms on PostgreSQL here, so the service, which verifies next
 * to requests, flushes smaller and more often.
 */
const FLUSH_DOCUMENTS = 500;

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
 * runner moves on meanwhile, a row it changed after the scratch copy's position looks wrong:
 * the copy is brought up to the new checkpoint and the rows that differed are looked at again
 * (only those: a row that matched was right at the copy's position), until the live runner
 * held still during a look or `MAX_RECHECKS` is reached. The verification hands the event loop
 * back between pages, so on a busy service the live runner does move meanwhile, whatever the
 * store. The scratch generations are dropped afterwards; the live ones are never written.
 */
export async function verifyReadModels(
  events: EventStore,
  readModels: ReadModelStore,
  projections: ReadonlyArray<Projection<unknown>>,
  options: {
    readonly onProgress?: (progress: ReplayProgress) => void;
    /** Stops the verification (it rejects with the signal's reason) between two pages. */
    readonly signal?: AbortSignal;
  } = {},
): Promise<ReadModelReport> {
  const SCRATCH_GENERATION = scratchGeneration();
  const problems: ReadModelProblem[] = [];
  const summary: ReadModelReport['readModels'] = [];
  const targets: Array<{
    projection: Projection<unknown>;
    generation: number;
    position: number;
    pending: PendingChanges;
    /** After the first comparison: what it found, to be looked at again. */
    suspects?: Compared;
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
      pending: new PendingChanges(readModels, projection, SCRATCH_GENERATION, 0, {
        recordDeadLetters: false,
      }),
    });
  }
  try {
    let open = targets;
    for (let round = 0; open.length > 0; round += 1) {
      try {
        await replay(events, open, options.onProgress, options.signal);
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
        const found = target.suspects
          ? await recheck(
              readModels,
              target.projection.name,
              target.generation,
              SCRATCH_GENERATION,
              target.suspects,
              options.signal,
            )
          : await compare(
              readModels,
              target.projection.name,
              target.generation,
              SCRATCH_GENERATION,
              options.signal,
            );
        const now = await readModels.activeGeneration(target.projection.name);
        if (now?.generation !== target.generation) {
          problems.push({
            projection: target.projection.name,
            key: null,
            problem: 'the read model was rebuilt while it was being verified: verify again',
          });
        } else if (
          now.position !== target.position &&
          found.problems.length > 0 &&
          round < MAX_RECHECKS
        ) {
          // The live runner moved on meanwhile: catch up and look at those rows again.
          moved.push({ ...target, position: now.position, suspects: found });
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

// One pass over the log for every scratch copy, each up to its own target position, in pages
// small enough to hand the event loop back between them (see `nextTurn`).
async function replay(
  events: EventStore,
  targets: ReadonlyArray<{ position: number; pending: PendingChanges }>,
  onProgress: ((progress: ReplayProgress) => void) | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const head = Math.max(...targets.map((target) => target.position));
  let position = Math.min(...targets.map((target) => target.pending.appliedPosition));
  while (position < head) {
    const batch = await events.readAll(position, 1000);
    if (batch.length === 0) break;
    for (const { pending, position: until } of targets) {
      const from = pending.appliedPosition;
      await pending.apply(
        batch.filter((event) => event.position > from && event.position <= until),
      );
      if (pending.size.events >= 50_000 || pending.size.documents >= FLUSH_DOCUMENTS)
        await pending.flush();
    }
    position = batch[batch.length - 1]!.position;
    onProgress?.({ position: Math.min(position, head), head });
    await nextTurn(signal);
  }
  for (const { pending } of targets) await pending.flush();
}

/** What a comparison found, with what a later look at the same rows needs. */
type Compared = {
  /** Rows of the live generation (counted by the first, full comparison). */
  readonly documents: number;
  readonly problems: ReadModelProblem[];
  /** The live document (canonical JSON) of each row whose index fields alone differed. */
  readonly liveDocs: ReadonlyMap<string, string>;
};

// Walks the live and the scratch generation side by side in key order.
async function compare(
  readModels: ReadModelStore,
  projection: string,
  generation: number,
  scratch: number,
  signal: AbortSignal | undefined,
): Promise<Compared> {
  const problems: ReadModelProblem[] = [];
  const liveDocs = new Map<string, string>();
  const report = (key: string, problem: string) => {
    if (problems.length < MAX_PROBLEMS_PER_READ_MODEL) problems.push({ projection, key, problem });
  };
  const pageSize = 1000;
  const live = pager(readModels, projection, generation, pageSize, signal);
  const fresh = pager(readModels, projection, scratch, pageSize, signal);
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
      const doc = canonicalJson(a.doc);
      if (doc !== canonicalJson(b.doc)) report(a.key, 'differs from a fresh replay of the log');
      else if (canonicalJson(a.index) !== canonicalJson(b.index)) {
        report(a.key, INDEX_DIFFERS);
        liveDocs.set(a.key, doc);
      }
      documents += 1;
      a = await live.next();
      b = await fresh.next();
    }
  }
  return { documents, problems, liveDocs };
}

// Looks again at the rows an earlier comparison found wrong, by key, in both generations.
async function recheck(
  readModels: ReadModelStore,
  projection: string,
  generation: number,
  scratch: number,
  before: Compared,
  signal: AbortSignal | undefined,
): Promise<Compared> {
  const problems: ReadModelProblem[] = [];
  const liveDocs = new Map<string, string>();
  const keys = [
    ...new Set(before.problems.flatMap((found) => (found.key === null ? [] : [found.key]))),
  ];
  for (let at = 0; at < keys.length; at += 1000) {
    await nextTurn(signal);
    const page = keys.slice(at, at + 1000);
    const live = await readModels.load(projection, generation, page);
    const fresh = await readModels.load(projection, scratch, page);
    for (const key of page) {
      const a = live.get(key);
      const b = fresh.get(key);
      if (a === undefined && b === undefined) continue;
      const problem =
        b === undefined
          ? 'is not in a fresh replay of the log: the events do not produce this row'
          : a === undefined
            ? 'is missing: a fresh replay of the log produces this row'
            : canonicalJson(a) !== canonicalJson(b)
              ? 'differs from a fresh replay of the log'
              : // Equal documents: the index fields (which `load` does not return) still differ
                // if the live row was not rewritten since, as the runner writes both together.
                before.liveDocs.get(key) === canonicalJson(a)
                ? INDEX_DIFFERS
                : undefined;
      if (problem === undefined) continue;
      problems.push({ projection, key, problem });
      if (problem === INDEX_DIFFERS) liveDocs.set(key, canonicalJson(a));
    }
  }
  return { documents: before.documents, problems, liveDocs };
}

function pager(
  readModels: ReadModelStore,
  projection: string,
  generation: number,
  size: number,
  signal: AbortSignal | undefined,
) {
  let page: Array<{ key: string; doc: unknown; index: unknown }> = [];
  let at = 0;
  let after = '';
  let done = false;
  return {
    async next() {
      if (at >= page.length) {
        if (done) return undefined;
        // Before each page, so comparing one page is the longest stretch without a turn.
        await nextTurn(signal);
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
