import { type IndexFields, type Projection, rollupKey } from './projection';
import type { Filter, GenerationState, ListQuery, Page, ReadModelStore } from './read-model-store';

/**
 * Queries on read models, typed by the projection that writes them: `get(progressProjection,
 * id)` is a `ProgressDoc`, and filters and orders name only the projection's index fields. The
 * store underneath stays name-based, as the runner, rebuild and verification need.
 *
 * The casts here are the only ones: under a projection's name the store holds nothing but what
 * that projection's `evolve` and `indexOf` returned, read back from JSON.
 */
export class ReadModels {
  constructor(private readonly store: ReadModelStore) {}

  /** One document of the active generation; undefined when there is none. */
  async get<Doc, Index extends IndexFields>(
    projection: Projection<Doc, Index>,
    key: string,
  ): Promise<Doc | undefined> {
    return (await this.store.get(projection.name, key)) as Doc | undefined;
  }

  /** A page of the active generation's documents (semantics on `ListQuery`). */
  async list<Doc, Index extends IndexFields>(
    projection: Projection<Doc, Index>,
    query: ListQuery<Index>,
  ): Promise<Page<Doc>> {
    return (await this.store.list(projection.name, query)) as Page<Doc>;
  }

  /** Every matching document, in key order; throws past the store's bound. */
  async all<Doc, Index extends IndexFields>(
    projection: Projection<Doc, Index>,
    where: Filter<Index>,
  ): Promise<Doc[]> {
    return (await this.store.all(projection.name, where)) as Doc[];
  }

  /** The index fields of every match, in key order; throws past the store's bound. */
  async indexes<Doc, Index extends IndexFields>(
    projection: Projection<Doc, Index>,
    where: Filter<Index>,
  ): Promise<Index[]> {
    return (await this.store.indexes(projection.name, where)) as Index[];
  }

  /**
   * The totals of the projection's rollup whose groups begin with `groupPrefix` (a whole group, or
   * `rollupGroupsUnder(...)`), in group order, from the active generation.
   *
   * A generation built by another version of the projection (served while the new version is
   * rebuilt beside it, after an upgrade) may keep no totals, or others: the totals are then summed
   * here from the indexes of the documents that match `where`, which must be those of the groups
   * asked for. Slower, and the same answer.
   */
  async rollups<Doc, Index extends IndexFields, Total>(
    projection: Projection<Doc, Index, Total>,
    groupPrefix: string,
    where: Filter<Index>,
  ): Promise<Total[]> {
    const rollup = projection.rollup;
    if (!rollup) throw new Error(`the ${projection.name} read model keeps no rollup`);
    const active = await this.store.activeGeneration(projection.name);
    if (active !== undefined && active.version !== projection.version) {
      const totals = new Map<string, Total | null>();
      for (const index of await this.indexes(projection, where)) {
        const group = rollup.groupOf(index);
        if (group !== null && group.startsWith(groupPrefix))
          totals.set(group, rollup.add(totals.get(group) ?? null, index, 1));
      }
      return [...totals.keys()]
        .sort()
        .map((group) => totals.get(group))
        .filter((total): total is Total => total !== null && total !== undefined);
    }
    const totals: Total[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.store.list(projection.name, {
        keyPrefix: rollupKey(groupPrefix),
        where: {},
        orderBy: 'key',
        limit: 1000,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      totals.push(...(page.items as Total[]));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return totals;
  }

  /** The generation queries read and its checkpoint; undefined before the first run. */
  activeGeneration<Doc, Index extends IndexFields>(
    projection: Projection<Doc, Index>,
  ): Promise<GenerationState | undefined> {
    return this.store.activeGeneration(projection.name);
  }
}
