/**
 * Why a store operation failed, as far as retrying goes: `transient` when the same operation may
 * succeed later unchanged (the database went away, a lock or serialization conflict, a busy
 * SQLite file, a full or read-only disk that an operator can fix), `permanent` when it will fail
 * the same way again (the store refuses this data).
 */
export type FailureKind = 'transient' | 'permanent';

// Node's socket errors, seen when PostgreSQL or EventStoreDB is down or restarting.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// A disk that is full or mounted read-only (Node's file-system errors): an operator frees space
// or remounts it, and the same write then succeeds.
const DISK_CODES = new Set(['ENOSPC', 'EROFS', 'EDQUOT']);

// SQLite result codes (better-sqlite3 puts them in `code`) that a retry can get past.
const SQLITE_TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL)/;

// PostgreSQL SQLSTATE classes and codes that a retry can get past: 08 connection exception,
// 40001 serialization failure, 40P01 deadlock, 53 insufficient resources (disk full, out of
// memory, too many connections), 55P03 lock not available, 57P01-57P03 admin shutdown, crash
// shutdown, cannot connect now, 57014 statement timeout.
const PG_TRANSIENT = /^(08...|40001|40P01|53...|55P03|57P0[123]|57014)$/;

/** Classifies an error thrown by a store driver (pg, better-sqlite3, the EventStoreDB client). */
export function failureKind(error: unknown): FailureKind {
  for (let cause: unknown = error, depth = 0; cause && depth < 5; depth += 1) {
    if (typeof cause !== 'object') break;
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (
        NETWORK_CODES.has(code) ||
        DISK_CODES.has(code) ||
        SQLITE_TRANSIENT.test(code) ||
        PG_TRANSIENT.test(code)
      )
        return 'transient';
    }
    if (
      typeof message === 'string' &&
      /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect|Cannot use a pool after calling end|Query read timeout|Client was closed and is not queryable|UNAVAILABLE|DeadlineExceeded/i.test(
        message,
      )
    )
      return 'transient';
    cause = (cause as { cause?: unknown }).cause;
  }
  return 'permanent';
}

// PostgreSQL SQLSTATEs of a store no data would pass: 42 a table, column or privilege missing,
// 3D000/3F000 no such database/schema, 28 authentication, 0A000 not supported, 58 system errors,
// XX internal errors.
const PG_STORE_FAULT = /^(42...|3D000|3F000|28...|0A000|58...|XX...)$/;
// SQLite's: a damaged or foreign file, a refused permission, a schema changed underneath.
const SQLITE_STORE_FAULT = /^SQLITE_(CORRUPT|NOTADB|PERM|AUTH|SCHEMA)/;

/**
 * For a permanent failure of a write: true when it is the store's (a table missing, a
 * permission, a damaged file), which any other data would meet too; false when it is about the
 * data written (a value its column refuses, a size limit, a constraint), which other data would
 * pass. The projection runner sets an event aside as a dead letter only for the second kind.
 */
export function blamesStore(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause && depth < 5; depth += 1) {
    if (typeof cause !== 'object') break;
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (PG_STORE_FAULT.test(code) || SQLITE_STORE_FAULT.test(code)))
      return true;
    // better-sqlite3 reports a missing table or column as plain SQLITE_ERROR.
    if (typeof message === 'string' && /^no such (table|column)/.test(message)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

// The embedded store's "cannot write" codes: the disk is full or read-only, or the file system
// failed a write. Reads of what is already there keep working.
const CANNOT_WRITE = /^(SQLITE_(FULL|READONLY|IOERR)|ENOSPC|EROFS|EDQUOT)/;

/**
 * Whether a (transient) failure is the local disk refusing a write: full, read-only or failing.
 * The operator's fix differs from a database that went away (free space in DATA_DIR, remount it
 * writable), so the answer says so.
 */
export function isDiskFailure(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause && depth < 5; depth += 1) {
    if (typeof cause !== 'object') break;
    const { code } = cause as { code?: unknown };
    if (typeof code === 'string' && CANNOT_WRITE.test(code)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}
