import type { EventStore, RecordedEvent } from '../event-sourcing';
import { type FailureKind, failureKind } from '../shared/transient';
import { applyIsolating, describeError, type StoreAttempt } from './apply-batch';
import type { Projection } from './projection';
import { rebuildProjections } from './projection-rebuild';
import { CheckpointMovedError, type ReadModelStore } from './read-model-store';

/** Where the runner says what it does about failures; a Nest `Logger` fits. */
export type RunnerLog = {
  /** A projection is going again after failures. */
  log(message: string): void;
  /** A failure that will be retried, or an event set aside as a dead letter. */
  warn(message: string): void;
};

/** Tuning for `ProjectionRunner`. */
export type RunnerOptions = {
  /** Most events applied in one transaction; default 1000. */
  readonly batchSize?: number;
  /** Wait before the first retry of a failure, doubled at each attempt; default 100 ms. */
  readonly retryDelayMs?: number;
  /** Longest wait between retries, and the wait after a permanent failure; default 30 s. */
  readonly maxRetryDelayMs?: number;
  readonly log?: RunnerLog;
};

/** A failure the runner keeps retrying for a projection. */
export type Retrying = {
  /** When the first of these failures happened (the last success was before it). */
  readonly since: Date;
  /** Failed attempts so far. */
  readonly attempts: number;
  /** The last failure, in a line. */
  readonly lastError: string;
  /**
   * `transient` failures pass by themselves (the store went away, a lock); a `permanent` one
   * (other than an event the store refuses, which becomes a dead letter) needs an operator.
   */
  readonly kind: FailureKind;
};

/** What the runner is doing for one projection. */
export type ProjectionStatus = {
  /** The position applied. */
  readonly position: number;
  /** Set while a failure of its start, subscription, commits or rebuild is being retried. */
  readonly retrying?: Retrying;
};

type Failure = Retrying & { readonly projection: string; readonly error: unknown };
type Checkpoint = { readonly generation: number; readonly position: number };

const IDLE = Symbol('idle');
const nextTurn = () => new Promise<typeof IDLE>((resolve) => setImmediate(() => resolve(IDLE)));

// The next event of a subscription. Its failure is handled where it is awaited, which may be
// after a commit: marking it handled now keeps Node from reporting it as unhandled meanwhile.
function nextOf(iterator: AsyncIterator<RecordedEvent>): Promise<IteratorResult<RecordedEvent>> {
  const next = iterator.next();
  next.catch(() => undefined);
  return next;
}

/**
 * Keeps read models up to date: one catch-up-then-live subscription per projection, from the
 * checkpoint stored with its read model. Events are taken in batches (whatever is already
 * there, up to `batchSize`) and each batch is applied and checkpointed in one transaction, so
 * after a crash every event has been applied exactly once.
 *
 * It never stops for good. An event whose `evolve` throws, or whose documents the store refuses
 * (found by splitting the batch), is set aside as a dead letter, with none of its effects, and
 * the projection goes on. Any other failure (of the subscription, a commit, a rebuild) is
 * retried: a transient one after a backoff from `retryDelayMs` doubling to `maxRetryDelayMs`,
 * with jitter, a permanent one every `maxRetryDelayMs`, from the stored checkpoint. `status`
 * says what is being retried, since when, for readiness.
 */
export class ProjectionRunner {
  private readonly positions = new Map<string, number>();
  private readonly waiters = new Set<{ position: number; resolve: (reached: boolean) => void }>();
  private readonly subscriptions = new Set<{ close(): Promise<void> }>();
  private readonly loops: Array<Promise<void>> = [];
  private readonly started = new Set<string>();
  private readonly failures = new Map<string, Failure>();
  private readonly retryCounts = new Map<string, number>();
  private readonly sleepers = new Set<() => void>();
  private stopped = false;
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly log: RunnerLog | undefined;

  constructor(
    private readonly events: EventStore,
    private readonly readModels: ReadModelStore,
    private readonly projections: ReadonlyArray<Projection<unknown>>,
    options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.log = options.log;
  }

  /** Starts every projection from its checkpoint (a first run starts generation 1 at 0); may be retried. */
  async start(): Promise<void> {
    for (const projection of this.projections) {
      if (this.started.has(projection.name)) continue;
      let active;
      try {
        active = await this.readModels.activeGeneration(projection.name);
        if (!active) {
          await this.readModels.createGeneration(projection.name, 1, projection.version);
          await this.readModels.activate(projection.name, 1);
          active = { generation: 1, position: 0, version: projection.version };
        }
      } catch (error) {
        // Readiness reports it while the caller tries again.
        this.recordFailure(projection.name, projection.name, error);
        throw error;
      }
      this.recovered(projection.name);
      this.positions.set(projection.name, active.position);
      this.started.add(projection.name);
      this.loops.push(this.follow(projection, active));
      if (active.version !== projection.version) {
        // The projection changed meaning: rebuild beside the served generation; when the new
        // one is activated, `follow` notices and moves to it.
        this.loops.push(this.rebuild(projection));
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

  /** Each projection's position and the failure it is retrying, if any (for readiness). */
  status(): Map<string, ProjectionStatus> {
    const status = new Map<string, ProjectionStatus>();
    for (const { name } of this.projections) {
      const failing = [...this.failures.values()].filter((failure) => failure.projection === name);
      // The one that says most: a permanent failure, else the oldest.
      const worst = failing.sort(
        (a, b) =>
          Number(b.kind === 'permanent') - Number(a.kind === 'permanent') ||
          a.since.getTime() - b.since.getTime(),
      )[0];
      status.set(name, {
        position: this.positions.get(name) ?? 0,
        ...(worst
          ? {
              retrying: {
                since: worst.since,
                attempts: worst.attempts,
                lastError: worst.lastError,
                kind: worst.kind,
              },
            }
          : {}),
      });
    }
    return status;
  }

  /** Failed attempts retried so far, per projection, since this runner was made (for metrics). */
  retries(): ReadonlyMap<string, number> {
    return this.retryCounts;
  }

  /** Dead letters of each projection's served generation (projections with none are left out). */
  deadLetterCounts(): Promise<Map<string, number>> {
    return this.readModels.countDeadLetters();
  }

  /**
   * A failure a projection is retrying that will not pass by itself (see `Retrying.kind`), if
   * one is: readiness and the `projections_failed` metric report it.
   */
  get error(): Error | undefined {
    for (const failure of this.failures.values()) {
      if (failure.kind === 'permanent')
        return failure.error instanceof Error ? failure.error : new Error(failure.lastError);
    }
    return undefined;
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

  /** Stops every subscription and retry, and waits for the commits under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.sleepers]) wake();
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await Promise.allSettled(this.loops);
    for (const waiter of [...this.waiters]) waiter.resolve(false);
  }

  // Follows the active generation from its checkpoint until the runner stops. After a failure it
  // starts again from the checkpoint as stored: a rebuild may have switched generations (the
  // commit found the checkpoint moved), and a commit whose answer was lost may have landed.
  private async follow(projection: Projection<unknown>, from: Checkpoint): Promise<void> {
    const task = projection.name;
    let at: Checkpoint | undefined = from;
    let lastMove: string | undefined;
    while (!this.stopped) {
      try {
        at ??= await this.resume(projection);
        await this.followGeneration(projection, at);
        return;
      } catch (error) {
        if (this.stopped) return;
        const here = `${at?.generation}:${this.positions.get(projection.name)}`;
        at = undefined;
        // A moved checkpoint is news, not a failure: go on from the stored one at once, unless
        // it moved again with no progress since (then something is wrong: back off).
        if (error instanceof CheckpointMovedError && here !== lastMove) {
          lastMove = here;
          continue;
        }
        await this.backOff(task, projection.name, error);
      }
    }
  }

  // The active generation and its stored checkpoint. When the log holds nothing past it, the
  // stores answer and there is nothing to apply: the projection is well again.
  private async resume(projection: Projection<unknown>): Promise<Checkpoint> {
    const active = await this.readModels.activeGeneration(projection.name);
    if (!active) throw new Error(`${projection.name} has no active generation`);
    this.advance(projection.name, active.position);
    if (this.failures.has(projection.name) && (await this.events.headPosition()) <= active.position)
      this.recovered(projection.name);
    return active;
  }

  private async followGeneration(projection: Projection<unknown>, from: Checkpoint): Promise<void> {
    const subscription = this.events.subscribeToAll(from.position);
    this.subscriptions.add(subscription);
    const iterator = subscription[Symbol.asyncIterator]();
    // Commits retry transient failures in place, with the batch in hand.
    const attempt: StoreAttempt = (work) => this.retryTransient(projection.name, work);
    let position = from.position;
    try {
      let pending = nextOf(iterator);
      while (!this.stopped) {
        const first = await pending;
        if (first.done) return;
        const batch: RecordedEvent[] = [first.value];
        pending = nextOf(iterator);
        // Take what is already there, without waiting for more.
        while (batch.length < this.batchSize) {
          const next = await Promise.race([pending, nextTurn()]);
          if (next === IDLE || next.done) break;
          batch.push(next.value);
          pending = nextOf(iterator);
        }
        const refused = await applyIsolating(
          this.readModels,
          projection,
          from.generation,
          position,
          batch,
          attempt,
        );
        for (const letter of refused) {
          this.log?.warn(
            `${projection.name}: event ${letter.position} (${letter.eventType} in ${letter.streamName}) set aside as a dead letter: ${letter.error}`,
          );
        }
        position = batch[batch.length - 1]!.position;
        this.advance(projection.name, position);
        this.recovered(projection.name);
      }
    } finally {
      this.subscriptions.delete(subscription);
      await subscription.close();
    }
  }

  // Rebuilds a projection whose version changed, beside the served generation; a failure is
  // retried (the rebuild resumes from its own checkpoint).
  private async rebuild(projection: Projection<unknown>): Promise<void> {
    const task = `${projection.name} rebuild`;
    while (!this.stopped) {
      try {
        await rebuildProjections(this.events, this.readModels, [projection]);
        this.recovered(task);
        return;
      } catch (error) {
        if (this.stopped) return;
        await this.backOff(task, projection.name, error);
      }
    }
  }

  // Runs `work` until it succeeds, waiting a backoff after each transient failure; any other
  // failure, or one after the runner stopped, is thrown.
  private async retryTransient<T>(projection: string, work: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (this.stopped || kindOf(error) !== 'transient' || error instanceof CheckpointMovedError)
          throw error;
        await this.backOff(projection, projection, error);
        if (this.stopped) throw error;
      }
    }
  }

  private async backOff(task: string, projection: string, error: unknown): Promise<void> {
    const failure = this.recordFailure(task, projection, error);
    const delay = this.delayAfter(failure);
    this.log?.warn(
      `${task}: ${failure.lastError} (${failure.kind}, attempt ${failure.attempts}); retrying in ${Math.round(delay)} ms`,
    );
    await this.sleep(delay);
  }

  private recordFailure(task: string, projection: string, error: unknown): Failure {
    const previous = this.failures.get(task);
    const failure: Failure = {
      projection,
      since: previous?.since ?? new Date(),
      attempts: (previous?.attempts ?? 0) + 1,
      lastError: describeError(error),
      kind: kindOf(error),
      error,
    };
    this.failures.set(task, failure);
    this.retryCounts.set(projection, (this.retryCounts.get(projection) ?? 0) + 1);
    return failure;
  }

  // Exponential backoff with "equal jitter": half the step fixed, half random, so that
  // instances that failed together do not retry together.
  private delayAfter(failure: Failure): number {
    if (failure.kind === 'permanent') return this.maxRetryDelayMs;
    const step = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** (failure.attempts - 1));
    return step / 2 + (Math.random() * step) / 2;
  }

  private recovered(task: string): void {
    const failure = this.failures.get(task);
    if (!failure) return;
    this.failures.delete(task);
    this.log?.log(`${task}: going again after ${failure.attempts} failed attempts`);
  }

  // A wait that `stop` cuts short.
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private advance(projection: string, position: number): void {
    this.positions.set(projection, position);
    const reached = this.position;
    for (const waiter of [...this.waiters]) if (reached >= waiter.position) waiter.resolve(true);
  }
}

// Another writer moving the checkpoint (a rebuild, another instance) passes by itself.
function kindOf(error: unknown): FailureKind {
  return error instanceof CheckpointMovedError ? 'transient' : failureKind(error);
}
