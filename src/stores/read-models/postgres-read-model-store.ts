import type { Pool } from 'pg';
import type { IndexFields } from '../../projections/projection';
import {
  CheckpointMovedError,
  type DeadLetter,
  type Filter,
  type GenerationState,
  type ListQuery,
  type Page,
  type ProjectionCommit,
  type ReadModelStore,
} from '../../projections/read-model-store';
import { failureKind } from '../../shared/transient';
import { migratePostgres } from '../postgres/postgres-migrations';
import {
  type PostgresTimeouts,
  createPostgresPool,
  untilSucceeded,
  withClient,
} from '../postgres/postgres-pool';
import {
  DEFAULT_MAX_ROWS,
  type ListRow,
  ReadModelQuery,
  type Statement,
  toPage,
  withinBound,
} from './read-model-query';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rm_generations (
  projection TEXT NOT NULL, generation INTEGER NOT NULL, version INTEGER NOT NULL,
  position BIGINT NOT NULL DEFAULT 0, active BOOLEAN NOT NULL DEFAULT false,
  PRIMARY KEY (projection, generation));
CREATE TABLE IF NOT EXISTS rm_documents (
  projection TEXT NOT NULL, generation INTEGER NOT NULL, key TEXT COLLATE "C" NOT NULL,
  doc JSONB NOT NULL, idx JSONB NOT NULL,
  PRIMARY KEY (projection, generation, key));
CREATE INDEX IF NOT EXISTS rm_documents_society ON rm_documents (projection, generation, (idx->'societyCode'))
  WHERE (idx->'societyCode') IS NOT NULL;
CREATE TABLE IF NOT EXISTS rm_dead_letters (
  id BIGSERIAL PRIMARY KEY, projection TEXT NOT NULL, position BIGINT NOT NULL, event_id TEXT NOT NULL,
  event_type TEXT NOT NULL, stream_name TEXT NOT NULL, error TEXT NOT NULL, recorded_at TIMESTAMPTZ NOT NULL);`;

// Dead letters belong to the generation that recorded them, so that activating a rebuilt
// generation replaces them (the rebuild records again those that still fail). Rebuilds used to
// record again what the live run had recorded: one row per event is kept, given to the active
// generation.
const DEAD_LETTER_GENERATIONS = `
ALTER TABLE rm_dead_letters ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
DELETE FROM rm_dead_letters d USING rm_dead_letters e
 WHERE d.projection = e.projection AND d.position = e.position AND d.id > e.id;
UPDATE rm_dead_letters d SET generation = g.generation
  FROM rm_generations g WHERE g.projection = d.projection AND g.active;
CREATE INDEX rm_dead_letters_generation ON rm_dead_letters (projection, generation);`;

// `idx->'f'` is SQL NULL for an absent member but the jsonb `null` for a null one: the field
// folds both to SQL NULL, as SQLite's json_extract does. Equality stays on `idx->'f'`, the
// expression rm_documents_society indexes (a non-null value never equals either null).
const queries = new ReadModelQuery({
  placeholder: (n) => `$${n}`,
  field: (name) => `NULLIF(idx->'${name}', 'null'::jsonb)`,
  equals: (name, value) => `idx->'${name}' = ${value}`,
  indexValue: (placeholder) => `${placeholder}::jsonb`,
  bindIndexValue: (value) => JSON.stringify(value),
});

const SCHEMA_LOCK = 7_264_532;

type GenerationRow = { generation: number; position: string; version: number };
const toState = (row: GenerationRow | undefined): GenerationState | undefined =>
  row && { generation: row.generation, position: Number(row.position), version: row.version };

/** Read models in PostgreSQL (READ_MODEL_STORE=postgres), shared by every instance. */
export class PostgresReadModelStore implements ReadModelStore {
  private readonly pool: Pool;
  private readonly schema: () => Promise<void>;
  private readonly maxRows: number;

  /**
   * `maxRows` bounds `all` and `indexes` (see `ReadModelTooLargeError`); `timeouts` bound
   * connecting and each statement (default: those of a 10 s request deadline).
   */
  constructor(
    connectionString: string,
    options: { maxRows?: number; timeouts?: PostgresTimeouts } = {},
  ) {
    this.maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
    this.pool = createPostgresPool(connectionString, {
      max: 10,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    // Made on first use, and again on the next use if the database was down at start-up.
    this.schema = untilSucceeded(() =>
      migratePostgres(this.pool, {
        versionTable: 'rm_schema_version',
        lock: SCHEMA_LOCK,
        migrations: [
          { version: 1, sql: SCHEMA },
          { version: 2, sql: DEAD_LETTER_GENERATIONS },
        ],
      }),
    );
    this.schema().catch(() => undefined);
  }

  private get ready(): Promise<void> {
    return this.schema();
  }

  async activeGeneration(projection: string): Promise<GenerationState | undefined> {
    await this.ready;
    const { rows } = await this.pool.query<GenerationRow>(
      'SELECT generation, position, version FROM rm_generations WHERE projection = $1 AND active',
      [projection],
    );
    return toState(rows[0]);
  }

  async checkpoints(): Promise<Map<string, GenerationState>> {
    await this.ready;
    const { rows } = await this.pool.query<GenerationRow & { projection: string }>(
      'SELECT projection, generation, position, version FROM rm_generations WHERE active',
    );
    return new Map(rows.map((row) => [row.projection, toState(row)!]));
  }

  async generation(projection: string, generation: number): Promise<GenerationState | undefined> {
    await this.ready;
    const { rows } = await this.pool.query<GenerationRow>(
      'SELECT generation, position, version FROM rm_generations WHERE projection = $1 AND generation = $2',
      [projection, generation],
    );
    return toState(rows[0]);
  }

  async createGeneration(projection: string, generation: number, version: number): Promise<void> {
    await this.ready;
    await this.pool.query(
      'INSERT INTO rm_generations (projection, generation, version) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [projection, generation, version],
    );
  }

  async activate(projection: string, generation: number): Promise<void> {
    await this.ready;
    await this.transaction(async (query) => {
      await query('UPDATE rm_generations SET active = (generation = $2) WHERE projection = $1', [
        projection,
        generation,
      ]);
    });
    await this.pool.query('DELETE FROM rm_documents WHERE projection = $1 AND generation <> $2', [
      projection,
      generation,
    ]);
    await this.pool.query(
      'DELETE FROM rm_dead_letters WHERE projection = $1 AND generation <> $2',
      [projection, generation],
    );
    await this.pool.query('DELETE FROM rm_generations WHERE projection = $1 AND generation <> $2', [
      projection,
      generation,
    ]);
  }

  async load(
    projection: string,
    generation: number,
    keys: readonly string[],
  ): Promise<Map<string, unknown>> {
    await this.ready;
    if (keys.length === 0) return new Map();
    const { rows } = await this.pool.query<{ key: string; doc: unknown }>(
      'SELECT key, doc FROM rm_documents WHERE projection = $1 AND generation = $2 AND key = ANY($3::text[])',
      [projection, generation, keys],
    );
    return new Map(rows.map((row) => [row.key, row.doc]));
  }

  async commit(commit: ProjectionCommit): Promise<void> {
    await this.ready;
    await this.transaction(async (query) => {
      const moved = await query(
        'UPDATE rm_generations SET position = $1 WHERE projection = $2 AND generation = $3 AND position = $4',
        [commit.toPosition, commit.projection, commit.generation, commit.fromPosition],
      );
      if (moved !== 1)
        throw new CheckpointMovedError(
          `${commit.projection} generation ${commit.generation} is not at position ${commit.fromPosition}`,
        );
      if (commit.writes.length > 0) {
        await query(
          `INSERT INTO rm_documents (projection, generation, key, doc, idx)
           SELECT $1, $2, * FROM unnest($3::text[], $4::jsonb[], $5::jsonb[])
           ON CONFLICT (projection, generation, key) DO UPDATE SET doc = excluded.doc, idx = excluded.idx`,
          [
            commit.projection,
            commit.generation,
            commit.writes.map((write) => withoutNul(write.key)),
            commit.writes.map((write) => jsonbText(write.doc)),
            commit.writes.map((write) => jsonbText(write.index)),
          ],
        );
      }
      if (commit.deletes.length > 0) {
        await query(
          'DELETE FROM rm_documents WHERE projection = $1 AND generation = $2 AND key = ANY($3::text[])',
          [commit.projection, commit.generation, commit.deletes],
        );
      }
      for (const letter of commit.deadLetters) {
        await query(
          'INSERT INTO rm_dead_letters (projection, generation, position, event_id, event_type, stream_name, error, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          // Text columns refuse NUL as jsonb does: a dead letter must never be what fails.
          [
            letter.projection,
            commit.generation,
            letter.position,
            letter.eventId,
            withoutNul(letter.eventType),
            withoutNul(letter.streamName),
            withoutNul(letter.error),
            letter.recordedAt,
          ],
        );
      }
    });
  }

  async get(projection: string, key: string): Promise<unknown> {
    await this.ready;
    const { rows } = await this.pool.query<{ doc: unknown }>(
      `SELECT d.doc FROM rm_documents d JOIN rm_generations g USING (projection, generation)
        WHERE d.projection = $1 AND g.active AND d.key = $2`,
      [projection, key],
    );
    return rows[0]?.doc;
  }

  async list(projection: string, query: ListQuery): Promise<Page<unknown>> {
    return toPage(await this.run<ListRow>(queries.list(projection, query)), query.limit);
  }

  async indexes(projection: string, where: Filter): Promise<IndexFields[]> {
    const rows = await this.run<{ idx: IndexFields }>(
      queries.indexes(projection, where, this.maxRows),
    );
    return withinBound(rows, projection, this.maxRows).map((row) => row.idx);
  }

  async all(projection: string, where: Filter): Promise<unknown[]> {
    const rows = await this.run<{ doc: unknown }>(queries.all(projection, where, this.maxRows));
    return withinBound(rows, projection, this.maxRows).map((row) => row.doc);
  }

  private async run<Row extends object>(statement: Statement): Promise<Row[]> {
    // A query that arrives while the schema is still being created waits for it (and sees its
    // error, if it failed) instead of failing on a missing table.
    await this.ready;
    return (await this.pool.query<Row>(statement.sql, statement.params)).rows;
  }

  async scan(
    projection: string,
    generation: number,
    afterKey: string,
    limit: number,
  ): Promise<Array<{ key: string; doc: unknown; index: IndexFields }>> {
    await this.ready;
    const { rows } = await this.pool.query<{ key: string; doc: unknown; idx: IndexFields }>(
      'SELECT key, doc, idx FROM rm_documents WHERE projection = $1 AND generation = $2 AND key > $3 ORDER BY key LIMIT $4',
      [projection, generation, afterKey, limit],
    );
    return rows.map((row) => ({ key: row.key, doc: row.doc, index: row.idx }));
  }

  async dropGeneration(projection: string, generation: number): Promise<void> {
    await this.ready;
    await this.transaction(async (query) => {
      const active = await query(
        'SELECT 1 FROM rm_generations WHERE projection = $1 AND generation = $2 AND active FOR UPDATE',
        [projection, generation],
      );
      if (active > 0)
        throw new Error(`${projection} generation ${generation} is active: it cannot be dropped`);
      await query('DELETE FROM rm_documents WHERE projection = $1 AND generation = $2', [
        projection,
        generation,
      ]);
      await query('DELETE FROM rm_dead_letters WHERE projection = $1 AND generation = $2', [
        projection,
        generation,
      ]);
      await query('DELETE FROM rm_generations WHERE projection = $1 AND generation = $2', [
        projection,
        generation,
      ]);
    });
  }

  async deadLetters(): Promise<DeadLetter[]> {
    await this.ready;
    const { rows } = await this.pool.query<{
      projection: string;
      position: string;
      event_id: string;
      event_type: string;
      stream_name: string;
      error: string;
      recorded_at: Date;
    }>(
      `SELECT d.projection, d.position, d.event_id, d.event_type, d.stream_name, d.error, d.recorded_at
         FROM rm_dead_letters d JOIN rm_generations g USING (projection, generation)
        WHERE g.active ORDER BY d.id`,
    );
    return rows.map((row) => ({
      projection: row.projection,
      position: Number(row.position),
      eventId: row.event_id,
      eventType: row.event_type,
      streamName: row.stream_name,
      error: row.error,
      recordedAt: row.recorded_at.toISOString(),
    }));
  }

  async countDeadLetters(): Promise<Map<string, number>> {
    await this.ready;
    const { rows } = await this.pool.query<{ projection: string; count: string }>(
      `SELECT d.projection, COUNT(*) AS count
         FROM rm_dead_letters d JOIN rm_generations g USING (projection, generation)
        WHERE g.active GROUP BY d.projection`,
    );
    return new Map(rows.map((row) => [row.projection, Number(row.count)]));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction(
    work: (query: (sql: string, params: unknown[]) => Promise<number>) => Promise<void>,
  ): Promise<void> {
    await withClient(this.pool, async (client) => {
      try {
        await client.query('BEGIN');
        await work(async (sql, params) => (await client.query(sql, params)).rowCount ?? 0);
        await client.query('COMMIT');
      } catch (error) {
        // A connection that failed that way is closed by withClient, which rolls back; a
        // ROLLBACK sent on it would only wait for the read timeout.
        if (failureKind(error) !== 'transient')
          await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }
}

/**
 * JSON text that `jsonb` accepts. jsonb refuses the NUL character (`\u0000`), which `json`, our
 * event column, keeps; one NUL in a title stored by an older version would otherwise make every
 * commit of that batch fail for ever. Such characters are stored as U+FFFD, the replacement
 * character. The check on the serialised text keeps the common case at one `JSON.stringify`.
 */
function jsonbText(value: unknown): string {
  const text = JSON.stringify(value);
  return text.includes('\\u0000')
    ? JSON.stringify(value, (_key, item: unknown) =>
        typeof item === 'string' ? withoutNul(item) : item,
      )
    : text;
}

function withoutNul(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}
