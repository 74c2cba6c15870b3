import type { EventStore, EventSubscription, RecordedEvent } from '../../src/event-sourcing';
import type { IndexFields } from '../../src/projections/projection';
import type {
  DeadLetter,
  Filter,
  GenerationState,
  ListQuery,
  Page,
  ProjectionCommit,
  ReadModelStore,
} from '../../src/projections/read-model-store';

/** A failure a retry gets past, as better-sqlite3 reports a locked file. */
export function transientError(): Error {
  return Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
}

/** A failure that comes back every time, as PostgreSQL refuses a document jsonb cannot hold. */
export function refusalError(): Error {
  return Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
}

/**
 * A real read-model store whose commits fail when a test says so, before they reach it: the
 * store itself, its transactions and checkpoints, stay real.
 */
export class FaultyReadModelStore implements ReadModelStore {
  /** Asked before each commit: an error to fail it with, or undefined to let it through. */
  fault: (commit: ProjectionCommit) => Error | undefined = () => undefined;
  /** Commits that reached the real store. */
  readonly committed: ProjectionCommit[] = [];
  /** Commits failed by `fault`. */
  failed = 0;

  constructor(readonly inner: ReadModelStore) {}

  /** Fails the next `count` commits with `error()`, then lets them through. */
  failNext(count: number, error: () => Error = transientError): void {
    let left = count;
    this.fault = () => {
      if (left === 0) return undefined;
      left -= 1;
      return error();
    };
  }

  async commit(commit: ProjectionCommit): Promise<void> {
    const error = this.fault(commit);
    if (error) {
      this.failed += 1;
      throw error;
    }
    await this.inner.commit(commit);
    this.committed.push(commit);
  }

  activeGeneration(projection: string): Promise<GenerationState | undefined> {
    return this.inner.activeGeneration(projection);
  }
  checkpoints(): Promise<Map<string, GenerationState>> {
    return this.inner.checkpoints();
  }
  generation(projection: string, generation: number): Promise<GenerationState | undefined> {
    return this.inner.generation(projection, generation);
  }
  createGeneration(projection: string, generation: number, version: number): Promise<void> {
    return this.inner.createGeneration(projection, generation, version);
  }
  activate(projection: string, generation: number): Promise<void> {
    return this.inner.activate(projection, generation);
  }
  load(
    projection: string,
    generation: number,
    keys: readonly string[],
  ): Promise<Map<string, unknown>> {
    return this.inner.load(projection, generation, keys);
  }
  get(projection: string, key: string): Promise<unknown> {
    return this.inner.get(projection, key);
  }
  list(projection: string, query: ListQuery): Promise<Page<unknown>> {
    return this.inner.list(projection, query);
  }
  all(projection: string, where: Filter): Promise<unknown[]> {
    return this.inner.all(projection, where);
  }
  indexes(projection: string, where: Filter): Promise<IndexFields[]> {
    return this.inner.indexes(projection, where);
  }
  scan(
    projection: string,
    generation: number,
    afterKey: string,
    limit: number,
  ): Promise<Array<{ key: string; doc: unknown; index: IndexFields }>> {
    return this.inner.scan(projection, generation, afterKey, limit);
  }
  dropGeneration(projection: string, generation: number): Promise<void> {
    return this.inner.dropGeneration(projection, generation);
  }
  deadLetters(): Promise<DeadLetter[]> {
    return this.inner.deadLetters();
  }
  countDeadLetters(): Promise<Map<string, number>> {
    return this.inner.countDeadLetters();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A real event store whose next `failures` subscriptions fail on their first read with
 * `error()`, as a subscription does when its database goes away; everything else goes through.
 */
export function withFailingSubscriptions(
  events: EventStore,
  failures: number,
  error: () => Error = transientError,
): EventStore & { readonly opened: number[] } {
  let left = failures;
  const opened: number[] = [];
  const failing = (): EventSubscription => ({
    [Symbol.asyncIterator]: (): AsyncIterator<RecordedEvent> => ({
      next: () => Promise.reject(error()),
    }),
    close: () => Promise.resolve(),
  });
  return new Proxy(events, {
    get(target, property) {
      if (property === 'opened') return opened;
      if (property === 'subscribeToAll') {
        return (afterPosition: number): EventSubscription => {
          opened.push(afterPosition);
          if (left === 0) return target.subscribeToAll(afterPosition);
          left -= 1;
          return failing();
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  }) as EventStore & { readonly opened: number[] };
}
