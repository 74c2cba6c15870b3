import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes or text to look for in raw storage. */
export type Needle = Buffer | string;

/**
 * The names of the places (file contents, a dump) that hold any of the needles: each as it is,
 * or (for bytes) as the hex that a text dump writes of a bytea.
 */
export function placesHolding(
  places: ReadonlyMap<string, Buffer>,
  needles: readonly Needle[],
): string[] {
  return [...places]
    .filter(([, content]) =>
      needles.some(
        (needle) =>
          content.indexOf(needle) >= 0 ||
          (Buffer.isBuffer(needle) && content.indexOf(needle.toString('hex')) >= 0),
      ),
    )
    .map(([name]) => name);
}

/** Every file in `dir` (a database, its WAL, its shared-memory index) by name. */
export function filesIn(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));
}

/**
 * Purges until `traces` finds nothing, a few times at most. PostgreSQL's VACUUM cannot remove a
 * row version that a transaction running elsewhere in the run's database (another test file)
 * may still see: the next purge, a moment later, can. The caller asserts the outcome.
 */
export async function purgeUntilGone(
  store: { purgeDeleted(): Promise<void> },
  traces: () => Promise<readonly string[]>,
): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await store.purgeDeleted();
    if ((await traces()).length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
