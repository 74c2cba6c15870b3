import type Database from 'better-sqlite3';
import { migrate, openWalDatabase } from '../sqlite/sqlite-database';
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
import {
  DEFAULT_MAX_ROWS,
  type ListRow,
  ReadModelQuery,
  type Statement,
  toPage,
  withinBound,
} from './read-model-query';
import { asError } from '../../shared/as-error';

// idx comes before doc: filtering on idx then never reads a large document's overflow pages.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS rm_generations (
  projection TEXT NOT NULL, generation INTEGER NOT NULL, version INTEGER NOT NULL,
  position INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (projection, generation));
CREATE TABLE IF NOT EXISTS rm_documents (
  projection TEXT NOT NULL, generation INTEGER NOT NULL, key TEXT NOT NULL,
  idx TEXT NOT NULL, doc TEXT NOT NULL,
  PRIMARY KEY (projection, generation, key)) WITHOUT ROWID;
-- Lists and dashboards are mostly per society: an index on that field (same expression as
-- the queries use) saves scanning every document of the read model.
-- Partial: read models without the field (the timeline's million rows) pay nothing for it.
CREATE INDEX IF NOT EXISTS rm_documents_society ON rm_documents (projection, generation, json_extract(idx, '$.societyCode'))
  WHERE json_extract(idx, '$.societyCode') IS NOT NULL;
CREATE TABLE IF NOT EXISTS rm_dead_letters (
  id INTEGER PRIMARY KEY, projection TEXT NOT NULL, position INTEGER NOT NULL, event_id TEXT NOT NULL,
  event_type TEXT NOT NULL, stream_name TEXT NOT NULL, error TEXT NOT NULL, recorded_at TEXT NOT NULL);`;

// Dead letters belong to the generation that recorded them, so that activating a rebuilt
// generation replaces them (the rebuild records again those that still fail). Rebuilds used to
// record again what the live run had recorded: one row per event is kept, given to the active
// generation.
const DEAD_LETTER_GENERATIONS = `
ALTER TABLE rm_dead_letters ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
DELETE FROM rm_dead_letters WHERE id NOT IN (SELECT MIN(id) FROM rm_dead_letters GROUP BY projection, position);
UPDATE rm_dead_letters SET generation = COALESCE(
  (SELECT g.generation FROM rm_generations g WHERE g.projection = rm_dead_letters.projection AND g.active = 1), 0);
CREATE INDEX rm_dead_letters_generation ON rm_dead_letters (projection, generation);`;

// Aggregates read the index fields of a whole society (the dashboard: 500 progress rows). The
// first society index held only the keys, so each match was looked up in rm_documents, whose
// rows carry the whole document: a progress row is ~8 KB, so each lookup landed on its own
// leaf page, often on an overflow page too (6.7 ms for 500 rows, measured; 0.45 ms with this
// index). With the key and the index fields in the index, such a query reads the index alone,
// already in key order. It costs a second copy of the small index fields of rows that have a
// society. The planner's statistics for it come from the PRAGMA optimize run at every open.
const COVERING_SOCIETY_INDEX = `
DROP INDEX IF EXISTS rm_documents_society;
CREATE INDEX rm_documents_society ON rm_documents (projection, generation, json_extract(idx, '$.societyCode'), key, idx)
  WHERE json_extract(idx, '$.societyCode') IS NOT NULL;`;

// json_extract gives SQL NULL for a JSON null and for an absent member alike, and the same
// expression is what rm_documents_society indexes.
const queries = new ReadModelQuery({
  placeholder: () => '?',
  field: (name) => `json_extract(idx, '$.${name}')`,
  equals: (name, value) => `json_extract(idx, '$.${name}') = ${value}`,
  indexValue: (placeholder) => placeholder,
  bindIndexValue: (value) => value,
});

/** How much of the read-model file is read through a memory map (see the constructor). */
const MMAP_BYTES = 1 << 30;

/** How many documents `get` keeps parsed (a progress document is ~8 KB of text). */
const PARSED_DOCUMENTS = 256;

/** `value`, with every object and array in it frozen. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** How many query shapes keep their prepared statement (shapes come from code, so few). */
const PREPARED_QUERIES = 64;

type GenerationRow = { generation: number; position: number; version: number };

/** Read models in a SQLite file in DATA_DIR (the embedded default). */
export class SqliteReadModelStore implements ReadModelStore {
  private readonly db: Database.Database;
  private readonly statements;
  private commitsSinceOptimize = 0;
  private readonly prepared = new Map<string, Database.Statement>();
  /** Documents `get` parsed, with the text they were parsed from (see `get`). */
  private readonly parsed = new Map<string, { readonly text: string; readonly doc: unknown }>();
  private readonly maxRows: number;

  /** `maxRows` bounds `all` and `indexes` (see `ReadModelTooLargeError`). */
  constructor(fileName: string, options: { maxRows?: number } = {}) {
    this.maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
    this.db = openWalDatabase({ fileName });
    // Version 1 is the first schema; later changes go after it (see sqlite-database.ts).
    migrate(this.db, [
      { version: 1, sql: SCHEMA },
      { version: 2, sql: DEAD_LETTER_GENERATIONS },
      { version: 3, sql: COVERING_SOCIETY_INDEX },
    ]);
    // Query planning needs statistics (e.g. to use the society index); see refreshStatistics.
    // A sampled ANALYZE (SQLite's advice for large databases) keeps that cheap.
    this.db.pragma('analysis_limit = 1000');
    // Documents are read through a memory map. rm_documents is WITHOUT ROWID, so its b-tree cells
    // are whole rows, and a progress row (~8 KB) spills onto overflow pages: finding one key
    // compares it with a dozen such cells, and SQLite reads overflow content straight from the
    // file (one pread a page, bypassing its page cache), ~20 system calls a lookup. Mapped, those
    // reads are memory copies: a document read went from ~49 to ~12 µs (measured, 1,000
    // participants). It reserves address space only; the OS page cache holds the pages as before.
    this.db.pragma(`mmap_size = ${MMAP_BYTES}`);
    this.db.pragma('optimize=0x10002');
    const db = this.db;
    this.statements = {
      active: db.prepare(
        'SELECT generation, position, version FROM rm_generations WHERE projection = ? AND active = 1',
      ),
      checkpoints: db.prepare(
        'SELECT projection, generation, position, version FROM rm_generations WHERE active = 1',
      ),
      generation: db.prepare(
        'SELECT generation, position, version FROM rm_generations WHERE projection = ? AND generation = ?',
      ),
      create: db.prepare(
        'INSERT INTO rm_generations (projection, generation, version) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      deactivate: db.prepare(
        'UPDATE rm_generations SET active = 0 WHERE projection = ? AND generation <> ?',
      ),
      activate: db.prepare(
        'UPDATE rm_generations SET active = 1 WHERE projection = ? AND generation = ?',
      ),
      dropOld: db.prepare('DELETE FROM rm_documents WHERE projection = ? AND generation <> ?'),
      dropOldDeadLetters: db.prepare(
        'DELETE FROM rm_dead_letters WHERE projection = ? AND generation <> ?',
      ),
      dropOldGenerations: db.prepare(
        'DELETE FROM rm_generations WHERE projection = ? AND generation <> ?',
      ),
      // A whole batch's documents in one statement: the keys travel as one JSON array.
      loadMany: db.prepare(
        'SELECT key, doc FROM rm_documents WHERE projection = ? AND generation = ? AND key IN (SELECT value FROM json_each(?))',
      ),
      // One statement for the hot path of every query: the document of the active generation.
      getActive: db
        .prepare(
          `SELECT doc FROM rm_documents
            WHERE projection = ? AND key = ?
              AND generation = (SELECT generation FROM rm_generations WHERE projection = ? AND active = 1)`,
        )
        .pluck(),
      put: db.prepare(
        'INSERT INTO rm_documents (projection, generation, key, doc, idx) VALUES (?, ?, ?, ?, ?) ON CONFLICT (projection, generation, key) DO UPDATE SET doc = excluded.doc, idx = excluded.idx',
      ),
      remove: db.prepare(
        'DELETE FROM rm_documents WHERE projection = ? AND generation = ? AND key = ?',
      ),
      move: db.prepare(
        'UPDATE rm_generations SET position = ? WHERE projection = ? AND generation = ? AND position = ?',
      ),
      deadLetter: db.prepare(
        'INSERT INTO rm_dead_letters (projection, generation, position, event_id, event_type, stream_name, error, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      scan: db.prepare(
        'SELECT key, doc, idx FROM rm_documents WHERE projection = ? AND generation = ? AND key > ? ORDER BY key LIMIT ?',
      ),
      dropDocuments: db.prepare('DELETE FROM rm_documents WHERE projection = ? AND generation = ?'),
      dropDeadLetters: db.prepare(
        'DELETE FROM rm_dead_letters WHERE projection = ? AND generation = ?',
      ),
      dropGeneration: db.prepare(
        'DELETE FROM rm_generations WHERE projection = ? AND generation = ?',
      ),
      deadLetters: db.prepare(
        `SELECT d.projection, d.position, d.event_id, d.event_type, d.stream_name, d.error, d.recorded_at
           FROM rm_dead_letters d JOIN rm_generations g USING (projection, generation)
          WHERE g.active = 1 ORDER BY d.id`,
      ),
      countDeadLetters: db.prepare(
        `SELECT d.projection, COUNT(*) AS count
           FROM rm_dead_letters d JOIN rm_generations g USING (projection, generation)
          WHERE g.active = 1 GROUP BY d.projection`,
      ),
    };
  }

  activeGeneration(projection: string): Promise<GenerationState | undefined> {
    return Promise.resolve(this.statements.active.get(projection) as GenerationRow | undefined);
  }

  checkpoints(): Promise<Map<string, GenerationState>> {
    const rows = this.statements.checkpoints.all() as Array<GenerationRow & { projection: string }>;
    return Promise.resolve(
      new Map(
        rows.map(({ projection, generation, position, version }) => [
          projection,
          { generation, position, version },
        ]),
      ),
    );
  }

  generation(projection: string, generation: number): Promise<GenerationState | undefined> {
    return Promise.resolve(
      this.statements.generation.get(projection, generation) as GenerationRow | undefined,
    );
  }

  createGeneration(projection: string, generation: number, version: number): Promise<void> {
    this.statements.create.run(projection, generation, version);
    return Promise.resolve();
  }

  activate(projection: string, generation: number): Promise<void> {
    this.db
      .transaction(() => {
        this.statements.deactivate.run(projection, generation);
        this.statements.activate.run(projection, generation);
      })
      .immediate();
    // Old generations go after the switch; queries already read the new one.
    this.db.transaction(() => {
      this.statements.dropOld.run(projection, generation);
      this.statements.dropOldDeadLetters.run(projection, generation);
      this.statements.dropOldGenerations.run(projection, generation);
    })();
    // A whole read model was just replaced: bring the planner's statistics up to date.
    this.db.exec('ANALYZE rm_documents');
    return Promise.resolve();
  }

  load(
    projection: string,
    generation: number,
    keys: readonly string[],
  ): Promise<Map<string, unknown>> {
    const found = new Map<string, unknown>();
    if (keys.length === 0) return Promise.resolve(found);
    const rows = this.statements.loadMany.all(
      projection,
      generation,
      JSON.stringify(keys),
    ) as Array<{
      key: string;
      doc: string;
    }>;
    for (const row of rows) found.set(row.key, JSON.parse(row.doc));
    return Promise.resolve(found);
  }

  commit(commit: ProjectionCommit): Promise<void> {
    const s = this.statements;
    const write = this.db.transaction(() => {
      const moved = s.move.run(
        commit.toPosition,
        commit.projection,
        commit.generation,
        commit.fromPosition,
      );
      if (moved.changes !== 1) {
        throw new CheckpointMovedError(
          `${commit.projection} generation ${commit.generation} is not at position ${commit.fromPosition}`,
        );
      }
      for (const document of commit.writes) {
        s.put.run(
          commit.projection,
          commit.generation,
          document.key,
          JSON.stringify(document.doc),
          JSON.stringify(document.index),
        );
      }
      for (const key of commit.deletes) s.remove.run(commit.projection, commit.generation, key);
      for (const letter of commit.deadLetters) {
        s.deadLetter.run(
          letter.projection,
          commit.generation,
          letter.position,
          letter.eventId,
          letter.eventType,
          letter.streamName,
          letter.error,
          letter.recordedAt,
        );
      }
    });
    return settle(() => {
      write.immediate();
      this.refreshStatistics();
    });
  }

  // SQLite's advice: run PRAGMA optimize now and then, so the planner's statistics follow the
  // data (it re-analyses only tables whose size changed a lot).
  private refreshStatistics(): void {
    this.commitsSinceOptimize += 1;
    if (this.commitsSinceOptimize < 1000) return;
    this.commitsSinceOptimize = 0;
    this.db.pragma('optimize');
  }

  get(projection: string, key: string): Promise<unknown> {
    const text = this.statements.getActive.get(projection, key, projection) as string | undefined;
    if (text === undefined) return Promise.resolve(undefined);
    // The same text parses to the same document: a document read again unchanged (a page
    // polled, the programme behind every dashboard) is not parsed again. Parsing a progress
    // document (~8 KB) was the largest single cost of an HTTP progress read after the lookup.
    // Comparing the text is what makes this safe without any invalidation: a changed document
    // is parsed afresh. Shared between callers, so frozen: a caller changing it would throw.
    const id = `${projection}\u0000${key}`;
    const hit = this.parsed.get(id);
    if (hit !== undefined && hit.text === text) return Promise.resolve(hit.doc);
    const doc = deepFreeze(JSON.parse(text) as unknown);
    if (hit === undefined && this.parsed.size >= PARSED_DOCUMENTS) {
      // The oldest entry goes (Map keeps insertion order).
      const oldest = this.parsed.keys().next();
      if (oldest.done !== true) this.parsed.delete(oldest.value);
    }
    this.parsed.set(id, { text, doc });
    return Promise.resolve(doc);
  }

  list(projection: string, query: ListQuery): Promise<Page<unknown>> {
    return settle(() => {
      const rows = this.run(queries.list(projection, query)) as Array<{
        key: string;
        doc: string;
        o: string | number | null;
      }>;
      return toPage(
        rows.map((row): ListRow => ({ key: row.key, doc: JSON.parse(row.doc), o: row.o })),
        query.limit,
      );
    });
  }

  indexes(projection: string, where: Filter): Promise<IndexFields[]> {
    return settle(() => {
      const rows = this.run(queries.indexes(projection, where, this.maxRows), true) as string[];
      return withinBound(rows, projection, this.maxRows).map(
        (row) => JSON.parse(row) as IndexFields,
      );
    });
  }

  all(projection: string, where: Filter): Promise<unknown[]> {
    return settle(() => {
      const rows = this.run(queries.all(projection, where, this.maxRows), true) as string[];
      return withinBound(rows, projection, this.maxRows).map((row) => JSON.parse(row) as unknown);
    });
  }

  // Query shapes repeat, and preparing one took ~25 µs against ~130 µs for running a page of
  // 50 timeline items (measured on this machine): worth keeping.
  private run(statement: Statement, pluck = false): unknown[] {
    const key = `${pluck ? 'p' : 'r'}${statement.sql}`;
    let prepared = this.prepared.get(key);
    if (!prepared) {
      if (this.prepared.size >= PREPARED_QUERIES) this.prepared.clear();
      prepared = this.db.prepare(statement.sql);
      if (pluck) prepared.pluck();
      this.prepared.set(key, prepared);
    }
    return prepared.all(...statement.params);
  }

  scan(
    projection: string,
    generation: number,
    afterKey: string,
    limit: number,
  ): Promise<Array<{ key: string; doc: unknown; index: IndexFields }>> {
    const rows = this.statements.scan.all(projection, generation, afterKey, limit) as Array<{
      key: string;
      doc: string;
      idx: string;
    }>;
    return Promise.resolve(
      rows.map((row) => ({
        key: row.key,
        doc: JSON.parse(row.doc) as unknown,
        index: JSON.parse(row.idx) as IndexFields,
      })),
    );
  }

  dropGeneration(projection: string, generation: number): Promise<void> {
    return settle(() =>
      this.db.transaction(() => {
        const active = this.statements.active.get(projection) as GenerationRow | undefined;
        if (active?.generation === generation)
          throw new Error(`${projection} generation ${generation} is active: it cannot be dropped`);
        this.statements.dropDocuments.run(projection, generation);
        this.statements.dropDeadLetters.run(projection, generation);
        this.statements.dropGeneration.run(projection, generation);
      })(),
    );
  }

  deadLetters(): Promise<DeadLetter[]> {
    const rows = this.statements.deadLetters.all() as Array<{
      projection: string;
      position: number;
      event_id: string;
      event_type: string;
      stream_name: string;
      error: string;
      recorded_at: string;
    }>;
    return Promise.resolve(
      rows.map((row) => ({
        projection: row.projection,
        position: row.position,
        eventId: row.event_id,
        eventType: row.event_type,
        streamName: row.stream_name,
        error: row.error,
        recordedAt: row.recorded_at,
      })),
    );
  }

  countDeadLetters(): Promise<Map<string, number>> {
    const rows = this.statements.countDeadLetters.all() as Array<{
      projection: string;
      count: number;
    }>;
    return Promise.resolve(new Map(rows.map((row) => [row.projection, row.count])));
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

// better-sqlite3 is synchronous; callers of the port expect failures as rejected promises.
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(asError(error));
  }
}
