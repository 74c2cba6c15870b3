/**
 * Who runs a projection when several instances share its read models. Each read model has one
 * leader at a time, the instance whose projection runner writes it; the others stand by, follow
 * its checkpoint for read-your-writes, and try again to lead every `retryMs`. Correctness does not
 * rest on it: every commit moves the checkpoint it started from in the same transaction, so two
 * runners that ever overlap apply no event twice (the second's commit fails and it starts again
 * from the stored checkpoint). Leadership only keeps them from wasting work on it.
 */
export interface Leadership {
  /** How often a standby tries again to lead, in ms. */
  readonly retryMs: number;
  /**
   * Tries once, without waiting, to lead `name` (a read model, or `rebuild:<read model>`);
   * undefined when another instance holds it. Throws when the store cannot be asked.
   */
  tryLead(name: string): Promise<Lease | undefined>;
  /** Gives up every lease. */
  close(): Promise<void>;
}

/** The leadership of one name, held until released or lost. */
export interface Lease {
  /**
   * Resolves (never rejects) once the lease is gone: released, or lost with the connection that
   * held it (the process that holds a lock on a dead session must stop writing at once).
   */
  readonly lost: Promise<void>;
  /** Whether the lease is gone already (what `lost` says, without waiting). */
  isLost(): boolean;
  /** Gives the leadership up; resolves once others can take it. */
  release(): Promise<void>;
}

/** Injection token of the `Leadership` this instance uses. */
export const LEADERSHIP = Symbol('Leadership');

/** A lease that lasts until released. */
class HeldLease implements Lease {
  readonly lost: Promise<void>;
  private end!: () => void;
  private gone = false;

  constructor(private readonly onRelease: () => void) {
    this.lost = new Promise((resolve) => (this.end = resolve));
  }

  isLost(): boolean {
    return this.gone;
  }

  release(): Promise<void> {
    if (this.gone) return Promise.resolve();
    this.gone = true;
    this.onRelease();
    this.end();
    return Promise.resolve();
  }
}

/**
 * One instance leads everything: read models in SQLite, whose file lock already allows one
 * writer (SQLite is for one instance). Within the process a name is still led by one holder at
 * a time, so a rebuild and the runner's own version rebuild do not overlap.
 */
export class SoleLeadership implements Leadership {
  readonly retryMs = 1000;
  private readonly held = new Set<string>();

  tryLead(name: string): Promise<Lease | undefined> {
    if (this.held.has(name)) return Promise.resolve(undefined);
    this.held.add(name);
    return Promise.resolve(new HeldLease(() => this.held.delete(name)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Never leads (`PROCESS_ROLE=api`): the instance only follows the checkpoints that projector
 * instances write.
 */
export class NoLeadership implements Leadership {
  constructor(readonly retryMs = 1000) {}

  tryLead(): Promise<Lease | undefined> {
    return Promise.resolve(undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Raised when a rebuild of a read model is already running (here or on another instance). */
export class RebuildInProgressError extends Error {
  constructor(readonly projection: string) {
    super(
      `a rebuild of ${projection} is already running (on this or another instance); wait for it to finish, then run this again if still needed`,
    );
  }
}
