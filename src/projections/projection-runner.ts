import type { EventStore, RecordedEvent } from '../event-sourcing';
import { applyBatch } from './apply-batch';
import type { Projection } from './projection';
import { rebuildProjections } from './projection-rebuild';
import { CheckpointMovedError, type ReadModelStore } from './read-model-store';

/** Tuning for `ProjectionRunner`. */
export type RunnerOptions = {
  /** Most events applied in one transaction; default 1000. */
  readonly batchSize?: number;
};

const IDLE = Symbol('idle');
const nextTurn = () => new Promise<typeof IDLE>((resolve) => setImmediate(() => resolve(IDLE)));

/**
 * Keeps read models up to date: one catch-up-then-live subscription per projection, from the
 * checkpoint stored with its read model. Events are taken in batches (whatever is already
 * there, up to `batchSize`) and each batch is applied and checkpointed in one transaction, so
 * after a crash every event has been applied exactly once. An event whose `evolve` throws is
 * set aside as a dead letter, with none of its effects, and the projection goes on.
 */
export class ProjectionRunner {
  private readonly positions = new Map<string, number>();
  private readonly waiters = new Set<{ position: number; resolve: (reached: boolean) => void }>();
  private readonly subscriptions: Array<{ close(): Promise<void> }> = [];
  private readonly loops: Array<Promise<void>> = [];
  private readonly started = new Set<string>();
  private stopped = false;
  private readonly batchSize: number;
  private failure: Error | undefined;

  constructor(
    private readonly events: EventStore,
    private readonly readModels: ReadModelStore,
    private readonly projections: ReadonlyArray<Projection<unknown>>,
    options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
  }

  /** Starts every projection from its checkpoint (a first run starts generation 1 at 0); may be retried. */
  async start(): Promise<void> {
    for (const projection of this.projections) {
      if (this.started.has(projection.name)) continue;
      let active = await this.readModels.activeGeneration(projection.name);
      if (!active) {
        await this.readModels.createGeneration(projection.name, 1, projection.version);
        await this.readModels.activate(projection.name, 1);
        active = { generation: 1, position: 0, version: projection.version };
      }
      this.positions.set(projection.name, active.position);
      this.started.add(projection.name);
      this.loops.push(this.follow(projection, active.generation, active.position));
      if (active.version !== projection.version) {
        // The projection changed meaning: rebuild beside the served generation; when the new
        // one is activated, `follow` notices and moves to it.
        this.loops.push(
          rebuildProjections(this.events, this.readModels, [projection]).then(
            () => undefined,
            (error: unknown) => {
              if (!this.stopped)
                this.failure = error instanceof Error ? error : new Error(String(error));
            },
          ),
        );
      }
    }
  }

  /** The lowest position every projection has applied. */
  get position(): number {
    return Math.min(...[...this.positions.values()], Number.MAX_SAFE_INTEGER);
  }

  /** Each projection's checkpoint. */
  checkpoints(): ReadonlyMap<string, number> {
    return this.positions;
  }

  /** Why a projection stopped, if one did (readiness reports it). */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Resolves true once every projection has passed `position`, false after `timeoutMs`. */
  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    if (this.position >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        position,
        resolve: (reached: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.subscriptions.map((subscription) => subscription.close()));
    await Promise.allSettled(this.loops);
    for (const waiter of [...this.waiters]) waiter.resolve(false);
  }

  // Follows the active generation; when a rebuild switches generations under it (its commit
  // finds the checkpoint moved), it picks up the new active generation from its checkpoint.
  private async follow(
    projection: Projection<unknown>,
    generation: number,
    from: number,
  ): Promise<void> {
    let current = { generation, from };
    while (!this.stopped) {
      try {
        await this.followGeneration(projection, current.generation, current.from);
        return;
      } catch (error) {
        if (this.stopped) return;
        const active =
          error instanceof CheckpointMovedError
            ? await this.readModels.activeGeneration(projection.name)
            : undefined;
        if (!active || active.generation === current.generation) {
          this.failure = error as Error;
          return;
        }
        current = { generation: active.generation, from: active.position };
        this.positions.set(projection.name, active.position);
      }
    }
  }

  private async followGeneration(
    projection: Projection<unknown>,
    generation: number,
    from: number,
  ): Promise<void> {
    const subscription = this.events.subscribeToAll(from);
    this.subscriptions.push(subscription);
    const iterator = subscription[Symbol.asyncIterator]();
    let position = from;
    try {
      let pending = iterator.next();
      while (!this.stopped) {
        const first = await pending;
        if (first.done) return;
        const batch: RecordedEvent[] = [first.value];
        pending = iterator.next();
        // Take what is already there, without waiting for more.
        while (batch.length < this.batchSize) {
          const next = await Promise.race([pending, nextTurn()]);
          if (next === IDLE || next.done) break;
          batch.push(next.value);
          pending = iterator.next();
        }
        await applyBatch(this.readModels, projection, generation, position, batch);
        position = batch[batch.length - 1]!.position;
        this.advance(projection.name, position);
      }
    } finally {
      await subscription.close();
    }
  }

  private advance(projection: string, position: number): void {
    this.positions.set(projection, position);
    const reached = this.position;
    for (const waiter of [...this.waiters]) if (reached >= waiter.position) waiter.resolve(true);
  }
}
