import type { IndexFields } from './projection';

/** One document to write. */
export type DocumentWrite = {
  readonly key: string;
  readonly doc: unknown;
  readonly index: IndexFields;
};

/**
 * An event a projection could not apply (its `evolve` threw, or the store refused the documents
 * it made), kept with the error so the projection goes on. It belongs to the generation whose
 * commit recorded it: a rebuild records its own, and activating it replaces the old ones.
 */
export type DeadLetter = {
  readonly projection: string;
  readonly position: number;
  readonly eventId: string;
  readonly eventType: string;
  readonly streamName: string;
  readonly error: string;
  readonly recordedAt: string;
};

/** What a batch of events did to one projection's read model, committed as one unit. */
export type ProjectionCommit = {
  readonly projection: string;
  /** The generation written (see `activeGeneration`). */
  readonly generation: number;
  readonly writes: readonly DocumentWrite[];
  readonly deletes: readonly string[];
  readonly deadLetters: readonly DeadLetter[];
  /** The checkpoint the batch started from; the commit fails if another writer moved it. */
  readonly fromPosition: number;
  /** The position of the batch's last event: the new checkpoint. */
  readonly toPosition: number;
};

/**
 * Equality filters on index fields, ANDed. `null` matches a field that is null or absent;
 * a field left out, or `undefined`, does not filter.
 */
export type Filter<Index extends IndexFields = IndexFields> = {
  readonly [Field in keyof Index]?: Index[Field] | null;
};

/**
 * A list query: equality filters on index fields, ordered by one of them (null and absent first
 * ascending, last descending; ties broken by key in the same direction), paged by cursor.
 */
export type ListQuery<Index extends IndexFields = IndexFields> = {
  /** Only keys starting with this (a range scan of the primary key). */
  readonly keyPrefix?: string;
  readonly where: Filter<Index>;
  /** An index field, or `key` for key order. */
  readonly orderBy: (keyof Index & string) | 'key';
  readonly descending?: boolean;
  readonly limit: number;
  /** Opaque, from the previous page's `nextCursor`. */
  readonly cursor?: string;
};

/** A page of documents. */
export type Page<Doc> = { readonly items: Doc[]; readonly nextCursor: string | null };

/** The checkpoint of one generation of one projection. */
export type GenerationState = {
  readonly generation: number;
  readonly position: number;
  readonly version: number;
};

/** Raised when the checkpoint moved under a commit: another runner is at work. */
export class CheckpointMovedError extends Error {}

/** An index field name that is not a plain identifier (letters, digits, `_`): never put in SQL. */
export class InvalidIndexFieldError extends Error {
  constructor(readonly field: string) {
    super(`invalid index field name: ${JSON.stringify(field)}`);
  }
}

/**
 * More documents match than `all` or `indexes` may return at once. Thrown rather than cutting
 * the answer short, which would make aggregates silently wrong; page with `list` instead.
 */
export class ReadModelTooLargeError extends Error {
  constructor(
    readonly projection: string,
    readonly maxRows: number,
  ) {
    super(`more than ${maxRows} documents of ${projection} match: page through them with list`);
  }
}

/**
 * Where read models live. Each projection has an active generation that queries read; a
 * rebuild fills a new generation beside it and then switches atomically. Every commit writes
 * documents and moves the checkpoint in one transaction, so each event is applied exactly once.
 */
export interface ReadModelStore {
  /** The generation queries read, and its checkpoint; undefined before the first run. */
  activeGeneration(projection: string): Promise<GenerationState | undefined>;
  /** The active generation of every projection that has one, by projection (one query). */
  checkpoints(): Promise<Map<string, GenerationState>>;
  /** Any generation's checkpoint (a rebuild in progress included). */
  generation(projection: string, generation: number): Promise<GenerationState | undefined>;
  /** Starts a generation at position 0 (idempotent). */
  createGeneration(projection: string, generation: number, version: number): Promise<void>;
  /**
   * Makes `generation` the one queries read, and drops older generations' documents and dead
   * letters: the new generation's dead letters are those of the events it could not apply.
   */
  activate(projection: string, generation: number): Promise<void>;
  /** Documents of a generation by key (absent keys are left out). */
  load(
    projection: string,
    generation: number,
    keys: readonly string[],
  ): Promise<Map<string, unknown>>;
  /** Writes a batch and moves the checkpoint, atomically. */
  commit(commit: ProjectionCommit): Promise<void>;
  /** One document of the active generation. */
  get(projection: string, key: string): Promise<unknown>;
  /** A page of the active generation's documents. */
  list(projection: string, query: ListQuery): Promise<Page<unknown>>;
  /**
   * Every document of the active generation matching the filters, in key order (for
   * aggregates); `ReadModelTooLargeError` past the store's bound rather than a partial answer.
   */
  all(projection: string, where: Filter): Promise<unknown[]>;
  /** The index fields (not the documents) of every match, in key order, bounded like `all`. */
  indexes(projection: string, where: Filter): Promise<IndexFields[]>;
  /** A generation's documents with their index fields, in key order after `afterKey` ('' first): for verification. */
  scan(
    projection: string,
    generation: number,
    afterKey: string,
    limit: number,
  ): Promise<Array<{ key: string; doc: unknown; index: IndexFields }>>;
  /** Removes a generation that is not the active one, with its documents and dead letters. */
  dropGeneration(projection: string, generation: number): Promise<void>;
  /** The dead letters of the active generations (what the served read models lack), oldest first. */
  deadLetters(): Promise<DeadLetter[]>;
  /** How many dead letters each projection's active generation has (projections with none are left out). */
  countDeadLetters(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/** Cursor encoding shared by the stores: the last row's order value and key. */
export function encodeCursor(value: string | number | null, key: string): string {
  return Buffer.from(JSON.stringify([value, key]), 'utf8').toString('base64url');
}

/** A cursor this API never issued: answered 400 `INVALID_CURSOR` at the edge. */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor must be a nextCursor this API gave; start again without one.');
  }
}

/**
 * The inverse of `encodeCursor`, and only of it: anything else (other JSON, other types, another
 * spelling of the same bytes) is an `InvalidCursorError`, never a query with odd parameters.
 */
export function decodeCursor(cursor: string): [string | number | null, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[1] === 'string' &&
    (parsed[0] === null ||
      typeof parsed[0] === 'string' ||
      (typeof parsed[0] === 'number' && Number.isFinite(parsed[0]))) &&
    encodeCursor(parsed[0] as string | number | null, parsed[1]) === cursor
  )
    return parsed as [string | number | null, string];
  throw new InvalidCursorError();
}

/** Injection token of the configured `ReadModelStore`. */
export const READ_MODEL_STORE = Symbol('ReadModelStore');
