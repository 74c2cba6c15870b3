import {
  InvalidIndexFieldError,
  ReadModelTooLargeError,
  type Filter,
  type ListQuery,
  type Page,
  decodeCursor,
  encodeCursor,
} from '../../projections/read-model-store';

/**
 * What differs between the SQL dialects of the read-model stores. Everything else about a query
 * (which filters, null semantics, the order, the cursor, limit + 1) is decided once, below.
 */
export interface ReadModelDialect {
  /** The text of the n-th bound parameter (1-based): `?` or `$n`. */
  placeholder(n: number): string;
  /** An index field as an SQL value that is NULL when the field is null or absent. */
  field(name: string): string;
  /**
   * `field = value`, written the way the store's expression indexes are declared so that a
   * filter can use them (PostgreSQL indexes `idx->'societyCode'`, not the null-folded value).
   */
  equals(name: string, value: string): string;
  /** How a bound index value appears in SQL next to `field`, e.g. cast to jsonb. */
  indexValue(placeholder: string): string;
  /** The parameter an index value is bound as. */
  bindIndexValue(value: string | number): unknown;
}

/** SQL text and its parameters, in placeholder order. */
export type Statement = { readonly sql: string; readonly params: unknown[] };

/** A row a list statement returns, its document already decoded by the adapter. */
export type ListRow = {
  readonly key: string;
  readonly doc: unknown;
  readonly o: string | number | null;
};

// Index fields become part of the SQL text (a JSON path), so only plain identifiers pass.
const FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Refuses a field name that is not a plain identifier: it would be spliced into SQL. */
export function checkedField(name: string): string {
  if (!FIELD.test(name)) throw new InvalidIndexFieldError(name);
  return name;
}

/** Default bound on `all` and `indexes`: above it they throw rather than fill the memory. */
export const DEFAULT_MAX_ROWS = 1_000_000;

/**
 * Builds the read-model queries of both stores from a dialect. Semantics, the same on every
 * store:
 * - `where` is an AND of equalities; `null` matches a field that is null or absent; an
 *   `undefined` value is no filter (so `Partial` filters can be spread in).
 * - `orderBy` is `key` or an index field; null and absent values come first ascending and last
 *   descending; ties are broken by key, in the same direction.
 * - a page asks for `limit + 1` rows to know whether there is a next one; its cursor is the last
 *   row's (order value, key), and the next page starts strictly after it.
 */
export class ReadModelQuery {
  constructor(private readonly dialect: ReadModelDialect) {}

  /** The statement for one page of `query` over the active generation. */
  list(projection: string, query: ListQuery): Statement {
    const build = this.builder(projection);
    if (query.keyPrefix !== undefined) {
      build.clauses.push(
        `key >= ${build.param(query.keyPrefix)} AND key < ${build.param(`${query.keyPrefix}\uffff`)}`,
      );
    }
    this.filter(build, query.where);
    if (!Number.isSafeInteger(query.limit) || query.limit < 0)
      throw new RangeError(`limit must be a whole number, 0 or more: ${query.limit}`);
    const descending = query.descending === true;
    const direction = descending ? 'DESC' : 'ASC';
    const byKey = query.orderBy === 'key';
    const order = byKey ? 'key' : this.dialect.field(checkedField(query.orderBy));
    if (query.cursor !== undefined) {
      const [value, key] = decodeCursor(query.cursor);
      build.clauses.push(
        byKey
          ? after(descending, 'key', build.param(key))
          : this.after(build, order, descending, value, key),
      );
    }
    const orderBy = byKey
      ? `key ${direction}`
      : `${order} ${direction} ${descending ? 'NULLS LAST' : 'NULLS FIRST'}, key ${direction}`;
    return {
      sql: `SELECT key, doc, ${order} AS o FROM rm_documents WHERE ${build.clauses.join(' AND ')} ORDER BY ${orderBy} LIMIT ${build.param(query.limit + 1)}`,
      params: build.params,
    };
  }

  /**
   * Every match at once, in key order, at most `maxRows`: one more is asked for so that a read
   * model past the bound throws instead of being cut short.
   */
  all(projection: string, where: Filter, maxRows: number): Statement {
    return this.whole(projection, where, maxRows, 'doc');
  }

  /** The index fields of every match, in key order, bounded like `all`. */
  indexes(projection: string, where: Filter, maxRows: number): Statement {
    return this.whole(projection, where, maxRows, 'idx');
  }

  private whole(
    projection: string,
    where: Filter,
    maxRows: number,
    column: 'doc' | 'idx',
  ): Statement {
    const build = this.builder(projection);
    this.filter(build, where);
    return {
      sql: `SELECT ${column} FROM rm_documents WHERE ${build.clauses.join(' AND ')} ORDER BY key LIMIT ${build.param(maxRows + 1)}`,
      params: build.params,
    };
  }

  // Queries read the active generation, found in the same statement: one round trip, and a
  // generation switched meanwhile is never half-read. TRUE is 1 in SQLite and a boolean here.
  private builder(projection: string) {
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return this.dialect.placeholder(params.length);
    };
    const clauses = [
      `projection = ${param(projection)}`,
      `generation = (SELECT generation FROM rm_generations WHERE projection = ${param(projection)} AND active = TRUE)`,
    ];
    return { params, param, clauses };
  }

  private filter(build: ReturnType<ReadModelQuery['builder']>, where: Filter): void {
    for (const [name, value] of Object.entries(where)) {
      checkedField(name);
      if (value === undefined) continue;
      build.clauses.push(
        value === null
          ? `${this.dialect.field(name)} IS NULL`
          : this.dialect.equals(
              name,
              this.dialect.indexValue(build.param(this.dialect.bindIndexValue(value))),
            ),
      );
    }
  }

  /**
   * Rows strictly after (value, key) in the order of the list, nulls included. Parameters are
   * bound in the order they appear in the text, since SQLite's `?` are positional.
   */
  private after(
    build: ReturnType<ReadModelQuery['builder']>,
    order: string,
    descending: boolean,
    value: string | number | null,
    key: string,
  ): string {
    if (value === null) {
      // Nulls come first ascending, so every non-null follows them; last descending, so none.
      const sameValue = `(${order} IS NULL AND ${after(descending, 'key', build.param(key))})`;
      return descending ? sameValue : `(${sameValue} OR ${order} IS NOT NULL)`;
    }
    const bound = () => this.dialect.indexValue(build.param(this.dialect.bindIndexValue(value)));
    const past = after(descending, order, bound());
    const tie = `(${order} = ${bound()} AND ${after(descending, 'key', build.param(key))})`;
    return descending ? `(${past} OR ${tie} OR ${order} IS NULL)` : `(${past} OR ${tie})`;
  }
}

function after(descending: boolean, expression: string, placeholder: string): string {
  return `${expression} ${descending ? '<' : '>'} ${placeholder}`;
}

/** A page from `limit + 1` rows: the first `limit`, and a cursor when there were more. */
export function toPage<Doc>(rows: readonly ListRow[], limit: number): Page<Doc> {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map((row) => row.doc as Doc),
    nextCursor: more && last ? encodeCursor(last.o, last.key) : null,
  };
}

/** The rows of `all` or `indexes`, or the error that says the read model is past the bound. */
export function withinBound<Row>(rows: Row[], projection: string, maxRows: number): Row[] {
  if (rows.length > maxRows) throw new ReadModelTooLargeError(projection, maxRows);
  return rows;
}
