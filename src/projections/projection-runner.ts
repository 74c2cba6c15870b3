import type { EventStore, RecordedEvent } from '../event-sourcing';
import { type FailureKind, failureKind } from '../shared/transient';
import { applyIsolating, describeError, type StoreAttempt } from './apply-batch';
import { type Lease, type Leadership, SoleLeadership } from './leadership';
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
  /**
   * Who leads each read model when several instances share them; default `SoleLeadership`
   * (this runner leads every one). A projection this runner does not lead is followed: its
   * stored checkpoint is read every `leadership.retryMs`, and every 20 ms while a query waits.
   */
  readonly leadership?: Leadership;
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
  /** The position applied (by this runner, or by the leader it follows). */
  readonly position: number;
  /** Whether this runner leads (writes) the read model. */
  readonly leading: boolean;
  /** Set while a failure of its start, subscription, commits or rebuild is being retried. */
  readonly retrying?: Retrying;
};

type Failure = Retrying & { readonly projection: string; readonly error: unknown };
type Checkpoint = { readonly generation: number; readonly position: number };
/** A read model this runner leads, until `resigned` (the lease was lost or the runner stops). */
type Reign = {
  readonly lease: Lease;
  readonly subscriptions: Set<{ close(): Promise<void> }>;
  resigned: boolean;
};

/** How often a runner that follows another's checkpoint reads it while a query waits for it. */
const WAITING_POLL_MS = 20;

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
 * Several instances may share the read models: a projection is written only by the runner that
 * leads it (see `Leadership`); the others follow its stored checkpoint, so that `waitFor` works
 * whichever instance answers, and take over when the leader goes. Even two runners that overlap
 * apply no event twice: a commit whose starting checkpoint moved fails, and its runner starts
 * again from the stored one.
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
  private readonly reigns = new Map<string, Reign>();
  private readonly changes = new Map<string, number>();
  private readonly failures = new Map<string, Failure>();
  private readonly retryCounts = new Map<string, number>();
  private readonly sleepers = new Set<() => void>();
  private readonly listeners = new Set<(position: number) => void>();
  private supervising = false;
  private wakeSupervisor: (() => void) | undefined;
  private stopped = false;
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly leadership: Leadership;
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
    this.leadership = options.leadership ?? new SoleLeadership();
    this.log = options.log;
    // Nothing is known to be applied until a checkpoint has been read.
    for (const { name } of projections) this.positions.set(name, 0);
  }

  /**
   * Leads every projection it can, from its checkpoint (a first run starts generation 1 at 0),
   * and reads the checkpoints of the others; then keeps trying to lead those every
   * `leadership.retryMs`. Throws when a store does not answer; may be retried.
   */
  async start(): Promise<void> {
    await this.contend(true);
    await this.observe(true);
    if (this.supervising) return;
    this.supervising = true;
    this.loops.push(this.supervise());
  }

  /** The lowest position every projection has applied. */
  get position(): number {
    return Math.min(...[...this.positions.values()], Number.MAX_SAFE_INTEGER);
  }

  /**
   * Calls `listener` with the new `position` each time the lowest position every projection has
   * applied moves (the server-sent changes stream); returns what stops it. A listener must not
   * throw: it runs inside the runner's loop.
   */
  onAdvance(listener: (position: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Each projection's checkpoint. */
  checkpoints(): ReadonlyMap<string, number> {
    return this.positions;
  }

  /** The projections this runner leads (writes). */
  leading(): ReadonlySet<string> {
    return new Set([...this.reigns].filter(([, reign]) => !reign.resigned).map(([name]) => name));
  }

  /** How many times this runner took or lost the leadership of each projection (for metrics). */
  leadershipChanges(): ReadonlyMap<string, number> {
    return this.changes;
  }

  /** Each projection's position and the failure it is retrying, if any (for readiness). */
  status(): Map<string, ProjectionStatus> {
    const status = new Map<string, ProjectionStatus>();
    const leading = this.leading();
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
        leading: leading.has(name),
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
      // A followed checkpoint is read at once, then often, while someone waits.
      this.wakeSupervisor?.();
    });
  }

  /** Stops every subscription and retry, waits for the commits under way, and resigns. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeSupervisor?.();
    for (const wake of [...this.sleepers]) wake();
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await Promise.allSettled(this.loops);
    for (const waiter of [...this.waiters]) waiter.resolve(false);
  }

  // Tries to lead every projection nobody here leads; `strict` throws the first failure.
  private async contend(strict: boolean): Promise<void> {
    for (const projection of this.projections) {
      if (this.stopped) return;
      const reign = this.reigns.get(projection.name);
      if (reign && !reign.resigned) continue;
      try {
        const lease = await this.leadership.tryLead(projection.name);
        if (lease) await this.reign(projection, lease);
      } catch (error) {
        // Readiness reports it while the caller tries again.
        this.recordFailure(projection.name, projection.name, error);
        if (strict) throw error;
      }
    }
  }

  // Starts leading a projection: from its active generation's checkpoint, made at the first run.
  private async reign(projection: Projection<unknown>, lease: Lease): Promise<void> {
    let active;
    try {
      active = await this.readModels.activeGeneration(projection.name);
      if (!active) {
        await this.readModels.createGeneration(projection.name, 1, projection.version);
        await this.readModels.activate(projection.name, 1);
        active = { generation: 1, position: 0, version: projection.version };
      }
    } catch (error) {
      await lease.release().catch(() => undefined);
      throw error;
    }
    const reign: Reign = { lease, subscriptions: new Set(), resigned: false };
    this.reigns.set(projection.name, reign);
    this.changes.set(projection.name, (this.changes.get(projection.name) ?? 0) + 1);
    if (!(this.leadership instanceof SoleLeadership))
      this.log?.log(`${projection.name}: leading from position ${active.position}`);
    void lease.lost.then(() => this.resign(projection.name, reign));
    this.recovered(projection.name);
    this.advance(projection.name, active.position);
    this.loops.push(this.lead(projection, active, reign));
  }

  // Follows the projection, and rebuilds it beside if its version changed, until the reign ends.
  private async lead(
    projection: Projection<unknown>,
    from: Checkpoint & { readonly version: number },
    reign: Reign,
  ): Promise<void> {
    const work = [this.follow(projection, from, reign)];
    // The projection changed meaning: rebuild beside the served generation; when the new one is
    // activated, `follow` notices and moves to it.
    if (from.version !== projection.version) work.push(this.rebuild(projection, reign));
    await Promise.allSettled(work);
    this.resign(projection.name, reign);
    await reign.lease.release().catch(() => undefined);
  }

  // The reign is over: stop writing at once (a commit under way may still land, or fail because
  // the new leader moved the checkpoint: either way no event is applied twice).
  private resign(name: string, reign: Reign): void {
    if (reign.resigned) return;
    reign.resigned = true;
    if (!this.stopped) {
      this.changes.set(name, (this.changes.get(name) ?? 0) + 1);
      this.log?.warn(`${name}: no longer leading; following the leader's checkpoint`);
    }
    for (const subscription of reign.subscriptions) void subscription.close();
    for (const wake of [...this.sleepers]) wake();
    this.wakeSupervisor?.();
  }

  private reigning(reign: Reign): boolean {
    return !this.stopped && !reign.resigned;
  }

  // Reads the checkpoints of the projections led elsewhere; `strict` throws a failure.
  private async observe(strict: boolean): Promise<void> {
    const followed = this.projections.filter(({ name }) => {
      const reign = this.reigns.get(name);
      return !reign || reign.resigned;
    });
    if (followed.length === 0) return;
    try {
      const stored = await this.readModels.checkpoints();
      for (const { name } of followed) {
        this.recovered(name);
        this.advance(name, stored.get(name)?.position ?? 0);
      }
    } catch (error) {
      for (const { name } of followed) this.recordFailure(name, name, error);
      if (strict) throw error;
    }
  }

  // Until the runner stops: tries to lead what is led elsewhere every `retryMs`, and reads the
  // others' checkpoints as often, or every 20 ms while a query waits for a position.
  private async supervise(): Promise<void> {
    let nextContest = Date.now() + this.leadership.retryMs;
    while (!this.stopped) {
      await new Promise<void>((resolve) => {
        const delay =
          this.waiters.size > 0
            ? WAITING_POLL_MS
            : Math.max(0, Math.min(nextContest - Date.now(), this.leadership.retryMs));
        const timer = setTimeout(wake, delay);
        function wake(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakeSupervisor = wake;
      });
      this.wakeSupervisor = undefined;
      if (this.stopped) return;
      if (Date.now() >= nextContest) {
        nextContest = Date.now() + this.leadership.retryMs;
        await this.contend(false);
      }
      await this.observe(false);
    }
  }

  // Follows the active generation from its checkpoint while the reign lasts. After a failure it
  // starts again from the checkpoint as stored: a rebuild may have switched generations (the
  // commit found the checkpoint moved), and a commit whose answer was lost may have landed.
  private async follow(
    projection: Projection<unknown>,
    from: Checkpoint,
    reign: Reign,
  ): Promise<void> {
    const task = projection.name;
    let at: Checkpoint | undefined = from;
    let lastMove: string | undefined;
    while (this.reigning(reign)) {
      try {
        at ??= await this.resume(projection);
        await this.followGeneration(projection, at, reign);
        return;
      } catch (error) {
        if (!this.reigning(reign)) return;
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

  private async followGeneration(
    projection: Projection<unknown>,
    from: Checkpoint,
    reign: Reign,
  ): Promise<void> {
    const subscription = this.events.subscribeToAll(from.position);
    this.subscriptions.add(subscription);
    reign.subscriptions.add(subscription);
    const iterator = subscription[Symbol.asyncIterator]();
    // Commits retry transient failures in place, with the batch in hand.
    const attempt: StoreAttempt = (work) => this.retryTransient(projection.name, reign, work);
    let position = from.position;
    try {
      if (!this.reigning(reign)) return;
      let pending = nextOf(iterator);
      while (this.reigning(reign)) {
        const first = await pending;
        if (first.done || !this.reigning(reign)) return;
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
      reign.subscriptions.delete(subscription);
      await subscription.close();
    }
  }

  // Rebuilds a projection whose version changed, beside the served generation, holding the
  // read model's rebuild leadership (one rebuild at a time across instances); a failure is
  // retried (the rebuild resumes from its own checkpoint). Ends with the reign.
  private async rebuild(projection: Projection<unknown>, reign: Reign): Promise<void> {
    const task = `${projection.name} rebuild`;
    while (this.reigning(reign)) {
      let lease: Lease | undefined;
      try {
        lease = await this.leadership.tryLead(`rebuild:${projection.name}`);
        if (!lease) {
          // Another instance rebuilds it (the CLI, say): done once the new version serves.
          const active = await this.readModels.activeGeneration(projection.name);
          if (active?.version === projection.version) return;
          await this.sleep(this.leadership.retryMs);
          continue;
        }
        const rebuilding = lease;
        await rebuildProjections(this.events, this.readModels, [projection], {
          shouldStop: () => !this.reigning(reign) || rebuilding.isLost(),
        });
        this.recovered(task);
        return;
      } catch (error) {
        if (!this.reigning(reign)) return;
        await this.backOff(task, projection.name, error);
      } finally {
        await lease?.release().catch(() => undefined);
      }
    }
  }

  // Runs `work` until it succeeds, waiting a backoff after each transient failure; any other
  // failure, or one after the reign ended, is thrown.
  private async retryTransient<T>(
    projection: string,
    reign: Reign,
    work: () => Promise<T>,
  ): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (
          !this.reigning(reign) ||
          kindOf(error) !== 'transient' ||
          error instanceof CheckpointMovedError
        )
          throw error;
        await this.backOff(projection, projection, error);
        if (!this.reigning(reign)) throw error;
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

  // A wait that `stop` and the end of a reign cut short.
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
    const before = this.position;
    this.positions.set(projection, position);
    const reached = this.position;
    for (const waiter of [...this.waiters]) if (reached >= waiter.position) waiter.resolve(true);
    if (reached !== before) for (const listener of [...this.listeners]) listener(reached);
  }
}

// Another writer moving the checkpoint (a rebuild, another instance) passes by itself.
function kindOf(error: unknown): FailureKind {
  return error instanceof CheckpointMovedError ? 'transient' : failureKind(error);
}
