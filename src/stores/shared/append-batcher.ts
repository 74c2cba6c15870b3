import type { AppendResult, PreparedAppend } from '../../event-sourcing';

/** Writes a batch of appends in one transaction; one outcome per append, in order. */
export type BatchWriter = (
  batch: readonly PreparedAppend[],
) => Promise<ReadonlyArray<AppendResult | Error>> | ReadonlyArray<AppendResult | Error>;

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
  private scheduled = false;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly write: BatchWriter,
    private readonly maxBatchSize = 500,
  ) {}

  /** Queues an append for the next transaction. */
  enqueue(append: PreparedAppend): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('The event store is closed.'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ append, resolve, reject });
      this.schedule();
    });
  }

  /** Refuses new appends and waits for queued ones to be written. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.running = this.drain();
      await this.running;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.running) this.running = this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatchSize);
        try {
          const outcomes = await this.write(batch.map((pending) => pending.append));
          batch.forEach((pending, index) => {
            const outcome = outcomes[index];
            if (outcome instanceof Error) pending.reject(outcome);
            else if (outcome) pending.resolve(outcome);
            else pending.reject(new Error('The batch writer returned no outcome for an append.'));
          });
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          for (const pending of batch) pending.reject(failure);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
