import { computeEventHash } from './event-hash';
import { nextTurn } from './next-turn';
import type { StoredEventLog } from './upcasting';

/** One thing wrong with the log, named by the stream and revision (or position) it concerns. */
export type ChainProblem = {
  readonly streamName: string;
  /** The revision concerned; null when the stream as a whole is. */
  readonly revision: number | null;
  /** The position of the event concerned; null when there is no such event (any more). */
  readonly position: number | null;
  readonly problem: string;
};

/** The stream name problems of the log as a whole (missing positions) are reported under. */
export const LOG = '$log';

/**
 * How many problems a report lists; the rest are only counted. A log restored from a backup
 * whose hashes no longer match can fail every event, and a million findings would not fit in
 * memory or in one answer.
 */
export const MAX_LISTED_PROBLEMS = 1000;

/** What a verification of the log found. */
export type ChainReport = {
  readonly events: number;
  readonly streams: number;
  /** The last position checked. */
  readonly position: number;
  /** Whether stream heads were compared (stores that keep them: see `StoreIntegrity`). */
  readonly headsChecked: boolean;
  /** The first `MAX_LISTED_PROBLEMS` problems found. */
  readonly problems: ChainProblem[];
  /** Problems found beyond those listed. */
  readonly unlistedProblems: number;
};

/** How far a verification has come. */
export type ChainProgress = { readonly position: number; readonly head: number };

/**
 * Recomputes every event's hash and every stream's chain, in one pass over the log:
 * - an event whose content no longer matches its hash was changed after it was recorded;
 * - an event whose `prevHash` is not the hash of the stream's event before it, or whose revision
 *   does not follow, comes after a removed, inserted or rewritten event;
 * - where the store keeps them, a missing position is a removed event, and a stream whose
 *   recorded head is past its last event has lost events at its end (its chain alone would
 *   still look whole).
 * It reads the log as stored (`StoredEventLog`): an upcast event would not hash to its hash.
 */
export async function verifyChains(
  store: StoredEventLog,
  options: {
    readonly batchSize?: number;
    readonly onProgress?: (progress: ChainProgress) => void;
    /** Stops the verification (it rejects with the signal's reason) between two pages. */
    readonly signal?: AbortSignal;
  } = {},
): Promise<ChainReport> {
  // Small pages, with a turn of the event loop after each: the service runs this next to
  // requests, and hashing a page is synchronous work however the store reads.
  const batchSize = options.batchSize ?? 1000;
  const problems: ChainProblem[] = [];
  let unlistedProblems = 0;
  const noteProblem = (problem: ChainProblem): void => {
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push(problem);
    else unlistedProblems += 1;
  };
  const last = new Map<string, { revision: number; hash: string }>();
  const gapFree = store.integrity?.gapFreePositions === true;
  const head = await store.headPosition();
  let position = 0;
  let events = 0;
  for (;;) {
    const batch = await store.readAll(position, batchSize);
    if (batch.length === 0) break;
    for (const event of batch) {
      const at = {
        streamName: event.streamName,
        revision: event.revision,
        position: event.position,
      };
      if (gapFree && event.position !== position + 1) {
        // Which stream lost them shows in its chain or its head, reported separately.
        noteProblem({
          streamName: LOG,
          revision: null,
          position: position + 1,
          problem: `positions ${position + 1}–${event.position - 1} are missing: events were removed from the log`,
        });
      }
      if (computeEventHash(event) !== event.hash) {
        noteProblem({
          ...at,
          problem:
            'its content does not match its hash: the event was changed after it was recorded',
        });
      }
      const before = last.get(event.streamName);
      const expectedRevision = before ? before.revision + 1 : 0;
      if (event.revision !== expectedRevision) {
        noteProblem({
          ...at,
          problem: `revision ${expectedRevision} was expected here: events of the stream before it are missing`,
        });
      } else if (event.prevHash !== (before?.hash ?? null)) {
        noteProblem({
          ...at,
          problem:
            "its prevHash is not the hash of the stream's previous event: an event before it was changed or replaced",
        });
      }
      last.set(event.streamName, { revision: event.revision, hash: event.hash });
      position = event.position;
      events += 1;
    }
    options.onProgress?.({ position, head: Math.max(head, position) });
    await nextTurn(options.signal);
  }
  if (store.integrity) {
    const recorded = new Set<string>();
    let after = '';
    for (;;) {
      const heads = await store.integrity.readStreamHeads(after, batchSize);
      if (heads.length === 0) break;
      for (const recordedHead of heads) {
        recorded.add(recordedHead.streamName);
        const found = last.get(recordedHead.streamName);
        if (!found) {
          noteProblem({
            streamName: recordedHead.streamName,
            revision: recordedHead.revision,
            position: null,
            problem: `the stream has no events left, but its head records revision ${recordedHead.revision}: its events were removed`,
          });
        } else if (found.revision < recordedHead.revision) {
          noteProblem({
            streamName: recordedHead.streamName,
            revision: recordedHead.revision,
            position: null,
            problem: `the stream ends at revision ${found.revision}, but its head records revision ${recordedHead.revision}: events at its end were removed`,
          });
        } else if (found.revision !== recordedHead.revision || found.hash !== recordedHead.hash) {
          noteProblem({
            streamName: recordedHead.streamName,
            revision: found.revision,
            position: null,
            problem: `the stream's last event (revision ${found.revision}) is not the head it recorded (revision ${recordedHead.revision})`,
          });
        }
      }
      after = heads[heads.length - 1]!.streamName;
      await nextTurn(options.signal);
    }
    for (const [streamName, found] of last) {
      if (!recorded.has(streamName)) {
        noteProblem({
          streamName,
          revision: found.revision,
          position: null,
          problem:
            'the stream has events but no recorded head: events were added outside the store',
        });
      }
    }
  }
  problems.sort(
    (a, b) =>
      (a.position ?? Number.MAX_SAFE_INTEGER) - (b.position ?? Number.MAX_SAFE_INTEGER) ||
      a.streamName.localeCompare(b.streamName),
  );
  return {
    events,
    streams: last.size,
    position,
    headsChecked: !!store.integrity,
    problems,
    unlistedProblems,
  };
}
