import { type Clock, SystemClock } from '../../shared/clock';

/** What a request with an `Idempotency-Key` finds when it starts. */
export type IdempotencyBegin =
  | { readonly state: 'new' }
  | { readonly state: 'done'; readonly status: number; readonly body: unknown }
  | { readonly state: 'in_progress' }
  | { readonly state: 'mismatch' };

/**
 * Remembers the answer to each (caller, route, key), so a retried command returns the first
 * answer and appends nothing. Kept in the shared state store (READ_MODEL_STORE), so every
 * instance of the service sees the same keys.
 *
 * An answer may hold personal data, so records live for IDEMPOTENCY_TTL only, and those of a
 * data subject can be deleted for good (`deleteSubject`, then `purgeDeleted`).
 */
export interface IdempotencyStore {
  /**
   * Claims the key for this request, or reports what an earlier request with it did. A record
   * older than the TTL counts as absent: it is replaced by this claim. `subjectRef` is the
   * caller's pseudonym, when the caller is a data subject, so their records can be deleted.
   */
  begin(
    scope: string,
    key: string,
    requestHash: string,
    subjectRef?: string,
  ): Promise<IdempotencyBegin>;
  /** Records the answer of the request that claimed the key. */
  complete(scope: string, key: string, status: number, body: unknown): Promise<void>;
  /** Releases a claim whose request failed without an answer worth repeating (5xx). */
  release(scope: string, key: string): Promise<void>;
  /** Deletes every record of this data subject; resolves to how many there were. */
  deleteSubject(subjectRef: string): Promise<number>;
  /**
   * Makes deleted records unrecoverable from the store's files: SQLite (secure_delete on)
   * checkpoints and truncates its WAL; PostgreSQL rewrites the table (VACUUM FULL).
   */
  purgeDeleted(): Promise<void>;
  close(): Promise<void>;
}

/** How long records live, and the clock that dates them. */
export interface IdempotencyStoreOptions {
  /** IDEMPOTENCY_TTL in seconds: an older record counts as absent and is deleted. */
  readonly ttlSeconds: number;
  /** Where "now" comes from; the machine's clock by default. */
  readonly clock?: Clock;
}

/** Expired records are deleted this often at most, by each instance, on its next `begin`. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * The expiry rule both adapters follow: a record created before `cutoff` has expired, and
 * expired records are swept at most once a minute.
 */
export class IdempotencyExpiry {
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: IdempotencyStoreOptions) {
    if (!Number.isFinite(options.ttlSeconds) || options.ttlSeconds <= 0)
      throw new RangeError(`ttlSeconds must be above 0, not ${options.ttlSeconds}`);
    this.ttlMs = options.ttlSeconds * 1000;
    this.clock = options.clock ?? new SystemClock();
  }

  /**
   * The time to date a new record with, the cutoff before which records have expired, and
   * whether this `begin` should sweep the expired ones (the sweep is then counted as done).
   */
  next(): { readonly now: Date; readonly cutoff: Date; readonly sweep: boolean } {
    const now = this.clock.now();
    const sweep = now.getTime() - this.lastSweep >= SWEEP_INTERVAL_MS;
    if (sweep) this.lastSweep = now.getTime();
    return { now, cutoff: new Date(now.getTime() - this.ttlMs), sweep };
  }
}

export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');

/** A stored key as both adapters read it back: an answer once `status` is set. */
export type IdempotencyRow = {
  readonly request_hash: string;
  readonly status: number | null;
  readonly body: string | null;
};

/** What an existing key means for a new request: the one rule both adapters follow. */
export function outcomeOf(row: IdempotencyRow, requestHash: string): IdempotencyBegin {
  if (row.request_hash !== requestHash) return { state: 'mismatch' };
  if (row.status === null) return { state: 'in_progress' };
  return { state: 'done', status: row.status, body: JSON.parse(row.body ?? 'null') as unknown };
}
