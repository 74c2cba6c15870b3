import {
  SubjectKeyConflictError,
  type SubjectKey,
  type SubjectKeyEntry,
} from '../../event-sourcing/personal-data/key-store';

/** Bytes in a subject key and in the pseudonym secret (AES-256 and HMAC-SHA256 keys). */
export const KEY_BYTES = 32;

/** A `subject_keys` row as both adapters read it: a key, or a tombstone once erased. */
export type SubjectKeyRow = {
  readonly subject_ref: string;
  readonly key: Buffer | null;
  readonly erased_at: string | null;
};

/** What a row says about its subject; the schema keeps exactly one of key and erased_at. */
export function subjectKeyOf(row: SubjectKeyRow): SubjectKey {
  if (row.erased_at !== null) return { state: 'erased', erasedAt: row.erased_at };
  if (row.key === null)
    throw new Error(`subject_keys row ${row.subject_ref} has neither key nor erased_at`);
  return { state: 'live', key: row.key };
}

/**
 * The subjects asked for, each once and in one order for every caller: concurrent batches that
 * create keys then lock rows in the same order, so two of them cannot deadlock.
 */
export function distinctRefs(subjectRefs: readonly string[]): string[] {
  return [...new Set(subjectRefs)].sort();
}

/** The rows found, keyed by subject; subjects without a row are left out. */
export function keysByRef(rows: Iterable<SubjectKeyRow>): Map<string, SubjectKey> {
  const found = new Map<string, SubjectKey>();
  for (const row of rows) found.set(row.subject_ref, subjectKeyOf(row));
  return found;
}

/** The rows as entries, in the order read. */
export function entriesOf(rows: Iterable<SubjectKeyRow>): SubjectKeyEntry[] {
  return [...rows].map((row) => ({ subjectRef: row.subject_ref, key: subjectKeyOf(row) }));
}

/** An entry as the row values `(subject_ref, key, erased_at)` to insert. */
export function rowOf(entry: SubjectKeyEntry): [string, Buffer | null, string | null] {
  if (entry.key.state === 'live') {
    if (entry.key.key.length !== KEY_BYTES)
      throw new TypeError(`the key of subject ${entry.subjectRef} is not ${KEY_BYTES} bytes`);
    return [entry.subjectRef, entry.key.key, null];
  }
  return [entry.subjectRef, null, entry.key.erasedAt];
}

/** Refuses when a stored subject is not exactly the entry being copied in (no key is ever replaced). */
export function assertSameEntry(stored: SubjectKey | undefined, entry: SubjectKeyEntry): void {
  const same =
    stored !== undefined &&
    (stored.state === 'live'
      ? entry.key.state === 'live' && stored.key.equals(entry.key.key)
      : entry.key.state === 'erased' && stored.erasedAt === entry.key.erasedAt);
  if (!same)
    throw new SubjectKeyConflictError(
      `the key store already holds subject ${entry.subjectRef} with another key or tombstone: copy into a new, empty key store`,
    );
}

/** Refuses a store whose pseudonym secret is another than the one being copied in. */
export function assertSameSecret(stored: Buffer, copied: Buffer): void {
  if (!stored.equals(copied))
    throw new SubjectKeyConflictError(
      'the key store already has another pseudonym secret: copy into a new, empty key store',
    );
}

/** Refuses a pseudonym secret that is not `KEY_BYTES` long. */
export function assertSecretSize(secret: Buffer): void {
  if (secret.length !== KEY_BYTES)
    throw new TypeError(`a pseudonym secret is ${KEY_BYTES} bytes, not ${secret.length}`);
}
