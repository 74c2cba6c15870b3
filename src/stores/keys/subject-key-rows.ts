import type { SubjectKey } from '../../event-sourcing/personal-data/key-store';

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
