import type { AppendResult, PreparedAppend } from '../../event-sourcing';
import { asError } from '../../shared/as-error';

/** One outcome per append of a batch, in order: its result or why it was refused. */
export type BatchOutcomes = ReadonlyArray<AppendResult | Error>;

/** Writes a batch of appends in one transaction, synchronously or not. */
export type BatchWriter = (
  batch: readonly PreparedAppend[],
) => Promise<BatchOutcomes> | BatchOutcomes;

/** Tuning for `AppendBatcher`. */
export interface AppendBatcherOptions {
  /** Most appends in one transaction; default 500. */
  readonly maxBatchSize?: number;
}

interface Pending {
  readonly append: PreparedAppend;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Group commit: appends that arrive while a transaction is being written (or within the same
 * turn of the event loop) are written together in the next transaction. Each append keeps its
 * own expected-revision check and its own outcome; only the commit, the costly part, is shared.
 * Sequential callers see one append per transaction, so nothing waits for a batch to fill.
 */
export class AppendBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatchSize: number;

  constructor(
    private readonly write: BatchWriter,
    options: AppendBatcherOptions = {},
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 500;
  }

  /** Queues an append for the next transaction. */
  enqueue(append: PreparedAppend): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('The event store is closed.'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ append, resolve, reject });
      this.schedule();
    });
  }

  /** Refuses new appends and waits until the queued ones are written. */
  close(): Promise<void> {
    this.closed = true;
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight === 0) {
      const batch = this.queue.splice(0, this.maxBatchSize);
      this.inFlight += 1;
      let outcomes: Promise<BatchOutcomes> | BatchOutcomes;
      try {
        outcomes = this.write(batch.map((pending) => pending.append));
      } catch (error) {
        this.settle(batch, error);
        continue;
      }
      if (Array.isArray(outcomes)) {
        this.settle(batch, outcomes);
      } else {
        (outcomes as Promise<BatchOutcomes>).then(
          // Pump on the next turn, once the callers just answered have queued their next appends.
          (written) => {
            this.settle(batch, written);
            this.schedule();
          },
          (error: unknown) => {
            this.settle(batch, error);
            this.schedule();
          },
        );
      }
    }
    if (this.queue.length === 0 && this.inFlight === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private settle(batch: readonly Pending[], outcomes: unknown): void {
    this.inFlight -= 1;
    if (!Array.isArray(outcomes)) {
      const failure = asError(outcomes);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    batch.forEach((pending, index) => {
      const outcome = (outcomes as BatchOutcomes)[index];
      if (outcome instanceof Error) pending.reject(outcome);
      else if (outcome) pending.resolve(outcome);
      else pending.reject(new Error('The batch writer returned no outcome for an append.'));
    });
  }
}
