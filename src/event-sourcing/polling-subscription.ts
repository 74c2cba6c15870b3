import type { RecordedEvent } from './event';
import type { EventSubscription } from './event-store';

/** What a polling subscription needs from a store. */
export interface PollingSource {
  /** Up to `maxCount` events after `afterPosition`, in position order. */
  readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]>;
  /** Calls `listener` whenever new events may have been committed; returns an unsubscribe. */
  onAppended(listener: () => void): () => void;
}

/** Tuning for `PollingSubscription`. */
export interface PollingOptions {
  /** Events read per query while catching up; default 500. */
  readonly batchSize?: number;
  /** Longest wait between checks when no append notification arrives; default 250 ms. */
  readonly pollIntervalMs?: number;
  /**
   * Whether a failed read may succeed later unchanged (the database is unreachable for a while):
   * such a read is tried again after `retryDelayMs` from the same position, and the subscription
   * goes on; any other failure ends it. Default: none is retried.
   */
  readonly retryable?: (error: unknown) => boolean;
  /** Wait before a retryable read is tried again; default 1000 ms. */
  readonly retryDelayMs?: number;
}

/**
 * Catch-up then live over any store that can read its log in position order: reads batches
 * after the last delivered position until it runs dry, then waits for an append notification
 * (or the poll interval, for writers in other processes) and reads again. Because every read
 * starts strictly after the last delivered position, it can neither skip nor repeat an event,
 * provided the store's `readAll` never shows a position before an earlier one is visible.
 */
export class PollingSubscription implements EventSubscription {
  private closed = false;
  private started = false;
  private signalled = false;
  private wake: (() => void) | undefined;
  private readonly unlisten: () => void;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly retryable: (error: unknown) => boolean;
  private readonly retryDelayMs: number;

  constructor(
    private readonly source: PollingSource,
    private readonly afterPosition: number,
    options: PollingOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.retryable = options.retryable ?? (() => false);
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.unlisten = source.onAppended(() => {
      this.signalled = true;
      this.wake?.();
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    if (this.started) throw new Error('A subscription can be iterated only once; subscribe again.');
    this.started = true;
    let last = this.afterPosition;
    try {
      while (!this.closed) {
        this.signalled = false;
        let batch: RecordedEvent[];
        try {
          batch = await this.source.readAll(last, this.batchSize);
        } catch (error) {
          // Closed meanwhile: whoever closed it wants no more events, nor this error.
          if (this.closed) return;
          if (!this.retryable(error)) throw error;
          await this.sleep(this.retryDelayMs);
          continue;
        }
        for (const event of batch) {
          if (this.closed) return;
          last = event.position;
          yield event;
        }
        if (batch.length < this.batchSize && !this.signalled && !this.closed)
          await this.sleep(this.pollIntervalMs);
      }
    } finally {
      this.closed = true;
      this.unlisten();
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.unlisten();
    this.wake?.();
    return Promise.resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
