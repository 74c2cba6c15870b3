import { EventStoreError } from './errors';

/** A command that waited its whole deadline for the commands ahead of it on its stream. */
export class CommandQueueTimeoutError extends EventStoreError {
  readonly code = 'COMMAND_QUEUE_TIMEOUT';

  constructor(
    readonly streamName: string,
    readonly waitedMs: number,
    /** Why: the deadline passed, or the stream's queue was already full. */
    readonly reason: 'deadline' | 'full',
  ) {
    super(
      reason === 'full'
        ? `Too many commands are waiting for ${streamName}; try again shortly.`
        : `Commands ahead of this one on ${streamName} took longer than ${waitedMs} ms; try again shortly.`,
    );
  }
}

/** What the queue tells whoever measures it (the service's metrics). */
export interface CommandQueueObserver {
  /** A command got its turn after waiting this long (0 when nothing was ahead of it). */
  waited(ms: number): void;
  /** A command gave up waiting, or found the queue full. */
  timedOut(): void;
  /** A command lost a race with another writer (another process) and decides again. */
  retried(): void;
}

/** A stream's state as a decider folded it from the log, up to the event at `revision`. */
export interface RememberedState<State = unknown> {
  /** The decider that folded it: a state is only ever reused by the same decider. */
  readonly decider: object;
  readonly revision: number;
  /** Global position of the event at `revision`: checked against the log when reused. */
  readonly position: number;
  readonly state: State;
  /** When it was folded (epoch ms). */
  readonly at: number;
}

interface Lane {
  /** Settles when the last command queued on this stream is done. */
  tail: Promise<void>;
  /** Commands running or waiting on this stream. */
  size: number;
}

/**
 * Serialises this process's commands per stream: a command on a stream starts once the
 * previous one on the same stream has appended (or failed), so it reads a state that already
 * holds that command's events and is decided on it. Commands on different streams do not wait
 * for each other, and their appends still share the store's group commit.
 *
 * Each command waits at most `timeoutMs` (from the moment it was queued) and then fails with
 * `CommandQueueTimeoutError` (the service answers 503 with `Retry-After`); at most
 * `maxWaiting` commands may run or wait on one stream. The same deadline bounds the retries of
 * a race lost to another process (`handleCommand`).
 *
 * Not a lock across processes: two processes still race, and the loser re-reads and decides
 * again, as the store's expected-revision check demands.
 */
export class StreamCommandQueue {
  private readonly lanes = new Map<string, Lane>();
  private readonly states = new Map<string, RememberedState>();
  private observers: CommandQueueObserver[] = [];

  constructor(
    readonly timeoutMs = 5000,
    readonly maxWaiting = 1000,
    /**
     * How long a folded state is reused: the vault's key cache lasts as long, so personal data
     * erased by another instance is out of this one's memory within the same time.
     */
    readonly stateTtlMs = 30_000,
    /** Most streams whose state is kept (the least recently used go first). */
    readonly maxStates = 10_000,
  ) {}

  /**
   * The state `decider` last folded for `streamName` in this process, while it is fresh: the
   * next command on the stream reads only the events after it. Only a command holding the
   * stream's turn may use it, which `handleCommand` does.
   */
  recall<State>(streamName: string, decider: object): RememberedState<State> | undefined {
    const known = this.states.get(streamName);
    if (!known || known.decider !== decider || Date.now() - known.at > this.stateTtlMs)
      return undefined;
    // Most recently used last, so the oldest are dropped first.
    this.states.delete(streamName);
    this.states.set(streamName, known);
    return known as RememberedState<State>;
  }

  /** Keeps a state folded from the log (never one derived from events not yet read back). */
  remember(streamName: string, state: Omit<RememberedState, 'at'>): void {
    this.states.delete(streamName);
    this.states.set(streamName, { ...state, at: Date.now() });
    while (this.states.size > this.maxStates)
      this.states.delete(this.states.keys().next().value as string);
  }

  /** Forgets a stream's state (it could not be trusted). */
  forget(streamName: string): void {
    this.states.delete(streamName);
  }

  /** Adds an observer (metrics). */
  observe(observer: CommandQueueObserver): void {
    this.observers = [...this.observers, observer];
  }

  /** Reports a lost race that is being decided again. */
  retried(): void {
    for (const observer of this.observers) observer.retried();
  }

  /** Commands running or waiting, over all streams: for tests and diagnostics. */
  get pending(): number {
    let count = 0;
    for (const lane of this.lanes.values()) count += lane.size;
    return count;
  }

  /**
   * Runs `work` once every command queued before it on `streamName` is done, passing the
   * deadline (epoch milliseconds) its own retries must respect.
   */
  async run<T>(streamName: string, work: (deadline: number) => Promise<T>): Promise<T> {
    const started = Date.now();
    const deadline = started + this.timeoutMs;
    let lane = this.lanes.get(streamName);
    if (!lane) {
      lane = { tail: Promise.resolve(), size: 0 };
      this.lanes.set(streamName, lane);
    }
    if (lane.size >= this.maxWaiting) {
      for (const observer of this.observers) observer.timedOut();
      throw new CommandQueueTimeoutError(streamName, 0, 'full');
    }
    const current = lane;
    current.size += 1;
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const previous = current.tail;
    current.tail = done;
    const finish = () => {
      release();
      current.size -= 1;
      if (current.size === 0 && this.lanes.get(streamName) === current)
        this.lanes.delete(streamName);
    };
    // Alone on the stream: no wait, not even a turn of the event loop.
    if (current.size > 1 && !(await settlesBefore(previous, deadline))) {
      // Those behind this command wait for the ones ahead of it, not for nothing.
      void previous.then(finish);
      for (const observer of this.observers) observer.timedOut();
      throw new CommandQueueTimeoutError(streamName, Date.now() - started, 'deadline');
    }
    for (const observer of this.observers) observer.waited(Date.now() - started);
    try {
      return await work(deadline);
    } finally {
      finish();
    }
  }
}

/** Whether `promise` settles before `deadline` (epoch ms); it never rejects here. */
function settlesBefore(promise: Promise<void>, deadline: number): Promise<boolean> {
  const left = deadline - Date.now();
  if (left <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), left);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * How long to wait before deciding again after losing race number `attempt` (1-based):
 * exponential from 2 ms, at most 100 ms, with full jitter so that racing writers spread out.
 */
export function retryBackoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(100, 2 * 2 ** Math.min(attempt - 1, 10));
  return Math.ceil(random() * ceiling);
}
