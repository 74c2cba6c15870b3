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

/** Injection token of the configured `SubjectKeyStore`. */
export const SUBJECT_KEY_STORE = Symbol('SubjectKeyStore');
