/**
 * What the key store knows about one data subject: a live key, or that the subject was erased
 * (the key is gone for good; a tombstone without key material is kept so the subject is never
 * given a new key that would make fresh personal data readable again).
 */
export type SubjectKey =
  | { readonly state: 'live'; readonly key: Buffer }
  | { readonly state: 'erased'; readonly erasedAt: string };

/**
 * Where the per-subject encryption keys live: outside the event log, so deleting one shreds every
 * copy of that person's personal data (events, read models, exports) without touching a hash.
 * Subjects are named by their pseudonym (`subjectRef`), never by their `sub`.
 *
 * Adapters: SQLite (its own file in DATA_DIR, `secure_delete` on) and PostgreSQL (its own table).
 */
export interface SubjectKeyStore {
  /**
   * The deployment's pseudonym secret (32 random bytes), created on first use and the same for
   * every instance sharing the store: `subjectRef = HMAC-SHA256(secret, sub)`.
   */
  pseudonymSecret(): Promise<Buffer>;
  /**
   * The keys of these subjects, creating a random 32-byte key for any that has none when `create`
   * is set (concurrent creators get the same key). Subjects without key or tombstone are left out
   * unless created.
   */
  keys(subjectRefs: readonly string[], create: boolean): Promise<Map<string, SubjectKey>>;
  /**
   * Deletes the subject's key, leaving a tombstone with `erasedAt`; a subject without a key gets
   * a tombstone too. Idempotent: erasing again keeps the first `erasedAt`. Returns the tombstone.
   */
  erase(subjectRef: string, erasedAt: string): Promise<{ readonly erasedAt: string }>;
  /**
   * Makes deleted keys unrecoverable from the store's files: SQLite checkpoints and truncates its
   * WAL (secure_delete has zeroed the freed cells); PostgreSQL vacuums the table.
   */
  purgeDeleted(): Promise<void>;
  /** Resolves once the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** One subject as a key store holds it: a live key or a tombstone. */
export type SubjectKeyEntry = { readonly subjectRef: string; readonly key: SubjectKey };

/**
 * Copying one key store into another, for the `encrypt-log` migration only
 * (docs/privacy-migration.md): the new log's store must make the same pseudonyms and open what
 * the old store sealed, and a subject erased before stays erased. The service never copies keys.
 */
export interface SubjectKeyStoreCopy {
  /** The pseudonym secret, if the store has made one; unlike `pseudonymSecret`, never makes one. */
  existingPseudonymSecret(): Promise<Buffer | undefined>;
  /**
   * Up to `maxCount` subjects with a subjectRef after `afterSubjectRef` ('' for the first), in
   * code-point order, each with its key or tombstone.
   */
  readEntries(afterSubjectRef: string, maxCount: number): Promise<SubjectKeyEntry[]>;
  /** Makes `secret` this store's pseudonym secret; refuses a store that already has another. */
  adoptPseudonymSecret(secret: Buffer): Promise<void>;
  /** Writes entries copied from another store as they are; refuses a subject held differently. */
  importEntries(entries: readonly SubjectKeyEntry[]): Promise<void>;
}

/** A store that holds other keys for a subject, or another secret, than the one being copied in. */
export class SubjectKeyConflictError extends Error {}

/** Injection token of the configured `SubjectKeyStore`. */
export const SUBJECT_KEY_STORE = Symbol('SubjectKeyStore');
