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
 */
export interface IdempotencyStore {
  /** Claims the key for this request, or reports what an earlier request with it did. */
  begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin>;
  /** Records the answer of the request that claimed the key. */
  complete(scope: string, key: string, status: number, body: unknown): Promise<void>;
  /** Releases a claim whose request failed without an answer worth repeating (5xx). */
  release(scope: string, key: string): Promise<void>;
  close(): Promise<void>;
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
